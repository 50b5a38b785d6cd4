#!/usr/bin/env python3
"""Generate tests/data/guardrails/generated.tsv: the labelled lines whose
values need arithmetic (Luhn, mod-97, check letters and digits) or that
repeat a shape in many contexts. Deterministic (fixed seed): re-running it
gives the same file. The hand-written files beside it hold the hard cases.

Line format (shared with the hand-written *.tsv files):
    kind <TAB> label <TAB> text
label "+" lines mark each expected span as ⟦...⟧ (the line's kind) or
⟦kind|...⟧ (another kind); "-" lines expect no finding of the line's kind.
Text escapes: \\n \\t \\\\ and \\u{HEX}.
"""
import random, string, sys

R = random.Random(20240601)
out = []

def emit(kind, label, text):
    out.append(f"{kind}\t{label}\t{text}")

FIRST = ["Anna", "Ben", "Chloé", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
         "Kaito", "Lena", "Mateo", "Nora", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tara",
         "Ugo", "Vera", "Wei", "Ximena", "Yusuf", "Zoe"]
LAST = ["Schmidt", "García", "Rossi", "Dupont", "Smith", "Nowak", "Jensen", "Silva", "Kowalski",
        "Müller", "Bianchi", "Martin", "Brown", "Novak", "Horvat", "Virtanen", "Murphy", "Costa"]

def name():
    return R.choice(FIRST) + " " + R.choice(LAST)

# ---------------------------------------------------------------- cards
def luhn_digit(body):
    s = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9: d -= 9
        s += d
    return str((10 - s % 10) % 10)

def luhn_ok(num):
    return luhn_digit(num[:-1]) == num[-1]

# (prefix, length) for the schemes the detector knows
SCHEMES = [("4", 16), ("4", 13), ("4", 19), ("51", 16), ("53", 16), ("55", 16), ("2221", 16),
           ("2720", 16), ("34", 15), ("37", 15), ("6011", 16), ("65", 16), ("644", 16),
           ("3528", 16), ("3589", 16), ("62", 16), ("62", 19), ("36", 14), ("300", 14),
           ("38", 16), ("5018", 16), ("6759", 16), ("2200", 16)]
TEST_PANS = ["4111111111111111", "4012888888881881", "4222222222222", "5555555555554444",
             "5105105105105100", "2223003122003222", "378282246310005", "371449635398431",
             "378734493671000", "6011111111111117", "6011000990139424", "30569309025904",
             "38520000023237", "3530111333300000", "3566002020360505", "6200000000000005",
             "4000056655665556", "5200828282828210", "4242424242424242", "6205500000000000004"]

def card():
    p, n = R.choice(SCHEMES)
    body = p + "".join(R.choice(string.digits) for _ in range(n - len(p) - 1))
    return body + luhn_digit(body)

def fmt_card(num):
    style = R.random()
    if len(num) == 15 and style < 0.6:
        return f"{num[:4]} {num[4:10]} {num[10:]}"
    if style < 0.35:
        return num
    sep = " " if style < 0.75 else "-"
    return sep.join(num[i:i + 4] for i in range(0, len(num), 4))

CARD_T = [
    "Please charge my card {v} for the annual plan.",
    "Card number: {v}, exp 09/27, name {n}",
    "the customer read out {v} over the phone",
    "Payment failed for {v} - do not retry",
    "{n} paid with {v} on the 3rd",
    "Use the test card {v} in the sandbox checkout.",
    "refund to card ending ... full PAN {v}",
    "{{\"pan\": \"{v}\", \"holder\": \"{n}\"}}",
    "My Visa is {v}, can you update billing?",
    "cc={v}&exp=1226",
    "Kreditkarte: {v}",
    "Numéro de carte {v}, merci.",
]
for pan in TEST_PANS:
    emit("card", "+", R.choice(CARD_T).format(v="⟦" + fmt_card(pan) + "⟧", n=name()))
for _ in range(110):
    emit("card", "+", R.choice(CARD_T).format(v="⟦" + fmt_card(card()) + "⟧", n=name()))
# negatives: failing Luhn, unknown issuer, wrong length, non-card numbers
NEG_CARD_T = [
    "Order {v} has shipped.",
    "tracking id {v}",
    "The batch id was {v} according to the log.",
    "reference {v} in the ledger",
    "Card number: {v} (typo, please ignore)",
    "Account {v} was closed.",
    "timestamp {v} ms since epoch",
]
for _ in range(45):
    c = card()
    bad = c[:-1] + str((int(c[-1]) + R.randint(1, 9)) % 10)
    emit("card", "-", R.choice(NEG_CARD_T).format(v=fmt_card(bad)))
for _ in range(30):
    p = R.choice(["1", "7", "8", "9", "0"])
    n = R.choice([13, 16, 19])
    body = p + "".join(R.choice(string.digits) for _ in range(n - 2))
    emit("card", "-", R.choice(NEG_CARD_T).format(v=fmt_card(body + luhn_digit(body))))
for _ in range(20):
    # Luhn-valid but a length the scheme does not issue (Visa 14/15/17/18, Amex 16)
    p, n = R.choice([("4", 14), ("4", 15), ("4", 17), ("4", 18), ("34", 16), ("37", 17), ("51", 15)])
    body = p + "".join(R.choice(string.digits) for _ in range(n - len(p) - 1))
    emit("card", "-", R.choice(NEG_CARD_T).format(v=body + luhn_digit(body)))
for _ in range(15):
    t = str(R.randint(1500000000000, 1799999999999))
    emit("card", "-", f"created_at={t} updated_at={int(t) + R.randint(1, 99999)}")
for _ in range(10):
    c = card()
    # wrong grouping: 5-5-6 splits are not how cards are printed
    emit("card", "-", f"serial {c[:5]}-{c[5:10]}-{c[10:]} on the invoice")

# ---------------------------------------------------------------- IBAN
IBAN_LEN = {"AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22,
            "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27,
            "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20,
            "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24,
            "SE": 24, "SI": 19, "SK": 24, "SM": 27, "VA": 22}
# Published examples (ECBS / SWIFT IBAN registry).
IBAN_EXAMPLES = ["DE89370400440532013000", "GB29NWBK60161331926819", "GB82WEST12345698765432",
                 "FR1420041010050500013M02606", "ES9121000418450200051332",
                 "IT60X0542811101000000123456", "NL91ABNA0417164300", "BE68539007547034",
                 "AT611904300234573201", "CH9300762011623852957", "DK5000400440116243",
                 "FI2112345600000785", "NO9386011117947", "PL61109010140000071219812874",
                 "PT50000201231234567890154", "SE4550000000058398257466", "IE29AIBK93115212345678",
                 "LU280019400644750000", "CZ6508000000192000145399", "HU42117730161111101800000000",
                 "SI56263300012039086", "SK3112000000198742637541", "MT84MALT011000012345MTLCAST001S",
                 "GR1601101250000000012300695", "RO49AAAA1B31007593840000", "EE382200221020145685",
                 "LT121000011101001000", "LV80BANK0000435195001", "HR1210010051863000160",
                 "BG80BNBG96611020345678", "CY17002001280000001200527600"]

def iban_check(cc, bban):
    s = bban + cc + "00"
    v = int("".join(str(int(ch, 36)) for ch in s))
    return "%02d" % (98 - v % 97)

def iban_valid(ib):
    s = ib[4:] + ib[:4]
    return int("".join(str(int(ch, 36)) for ch in s)) % 97 == 1

def iban():
    cc = R.choice(sorted(IBAN_LEN))
    n = IBAN_LEN[cc] - 4
    bban = "".join(R.choice(string.digits if R.random() < 0.85 else string.ascii_uppercase)
                   for _ in range(n))
    return cc + iban_check(cc, bban) + bban

def fmt_iban(ib):
    if R.random() < 0.5:
        return " ".join(ib[i:i + 4] for i in range(0, len(ib), 4))
    return ib

IBAN_T = ["Please wire the deposit to {v}.", "IBAN: {v} (BIC DEUTDEFF)", "Bankverbindung {v}, {n}",
          "send it to my account {v} thanks", "beneficiary {n}, iban {v}",
          "IBAN {v} - reference INV-2291", "virement sur le compte {v}",
          "{{\"iban\":\"{v}\",\"name\":\"{n}\"}}", "Conto corrente {v} intestato a {n}"]
for ex in IBAN_EXAMPLES:
    assert iban_valid(ex), ex
    emit("iban", "+", R.choice(IBAN_T).format(v="⟦" + fmt_iban(ex) + "⟧", n=name()))
for _ in range(100):
    emit("iban", "+", R.choice(IBAN_T).format(v="⟦" + fmt_iban(iban()) + "⟧", n=name()))
for _ in range(60):
    ib = iban()
    k = R.randrange(4, len(ib))
    ch = ib[k]
    rep = R.choice([d for d in string.digits if d != ch]) if ch.isdigit() else \
        R.choice([c for c in string.ascii_uppercase if c != ch])
    bad = ib[:k] + rep + ib[k + 1:]
    if iban_valid(bad):
        continue
    emit("iban", "-", R.choice(IBAN_T).format(v=fmt_iban(bad), n=name()))
for _ in range(25):
    ib = iban()
    bad = ib + R.choice(string.digits)  # one character too many for its country
    emit("iban", "-", R.choice(IBAN_T).format(v=bad, n=name()))
for _ in range(15):
    cc = R.choice(["XX", "QQ", "ZZ", "AA", "US"])
    bban = "".join(R.choice(string.digits) for _ in range(18))
    emit("iban", "-", f"code {cc}{iban_check(cc, bban)}{bban} in the export")

# ---------------------------------------------------------------- SSN
def ssn():
    while True:
        a, g, s = R.randint(1, 899), R.randint(1, 99), R.randint(1, 9999)
        if a != 666:
            return f"{a:03d}-{g:02d}-{s:04d}"

SSN_T = ["SSN: {v}", "my social security number is {v}", "Employee {n}, SSN {v}, start date Monday",
         "ssn={v}", "Please verify {v} against the W-2.", "{n} ({v}) filed jointly",
         "social security no. {v}", "The applicant's SSN {v} did not match."]
for _ in range(110):
    v = ssn()
    if R.random() < 0.15:
        v = v.replace("-", " ")
    emit("ssn", "+", R.choice(SSN_T).format(v="⟦" + v + "⟧", n=name()))
for _ in range(15):
    emit("ssn", "+", f"SSN {'⟦' + ssn().replace('-', '') + '⟧'} on file")
for _ in range(70):
    kind = R.choice(["000", "666", "9xx", "g00", "s0000"])
    a, g, s = R.randint(1, 899), R.randint(1, 99), R.randint(1, 9999)
    if a == 666: a = 665
    if kind == "000": a = 0
    if kind == "666": a = 666
    if kind == "9xx": a = R.randint(900, 999)
    if kind == "g00": g = 0
    if kind == "s0000": s = 0
    emit("ssn", "-", R.choice(SSN_T).format(v=f"{a:03d}-{g:02d}-{s:04d}", n=name()))
emit("ssn", "-", "The famous Woolworth wallet SSN 078-05-1120 was voided long ago.")
emit("ssn", "-", "SSN 219-09-9999 appeared in an advertisement and is invalid.")
for _ in range(20):
    # bare nine digits without an SSN context
    emit("ssn", "-", f"Order {R.randint(100000000, 999999999)} confirmed")

# ---------------------------------------------------------------- UK NINO
NINO_FIRST = [c for c in "ABCEGHJKLMNOPRSTWXYZ"]
NINO_SECOND = [c for c in "ABCEGHJKLMNPRSTWXYZ"]
BAD_PREFIX = {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}

def nino():
    while True:
        p = R.choice(NINO_FIRST) + R.choice(NINO_SECOND)
        if p not in BAD_PREFIX:
            break
    d = "".join(R.choice(string.digits) for _ in range(6))
    s = R.choice("ABCD")
    if R.random() < 0.5:
        return f"{p} {d[:2]} {d[2:4]} {d[4:]} {s}"
    return p + d + s

NINO_T = ["NI number {v}", "National Insurance: {v}", "{n}, NINO {v}, tax code 1257L",
          "my NI no is {v}", "Payroll record for {n} ({v})", "nino={v}"]
for _ in range(100):
    emit("nino", "+", R.choice(NINO_T).format(v="⟦" + nino() + "⟧", n=name()))
for _ in range(60):
    t = R.random()
    if t < 0.3:
        p = R.choice(sorted(BAD_PREFIX))
        v = p + "".join(R.choice(string.digits) for _ in range(6)) + R.choice("ABCD")
    elif t < 0.6:
        p = R.choice("DFIQUV") + R.choice(NINO_SECOND)
        v = p + "".join(R.choice(string.digits) for _ in range(6)) + R.choice("ABCD")
    elif t < 0.8:
        v = R.choice(NINO_FIRST) + R.choice(NINO_SECOND) + "".join(R.choice(string.digits) for _ in range(6)) + R.choice("EFGXYZ")
    else:
        v = R.choice(NINO_FIRST) + R.choice(NINO_SECOND) + "".join(R.choice(string.digits) for _ in range(5)) + R.choice("ABCD")
    emit("nino", "-", R.choice(NINO_T).format(v=v, n=name()))

# ---------------------------------------------------------------- Spanish DNI / NIE
DNI = "TRWAGMYFPDXBNJZSQVHLCKE"

def dni():
    n = R.randint(0, 99999999)
    return f"{n:08d}{DNI[n % 23]}", n

DNI_T = ["DNI {v}", "mi DNI es el {v}", "NIF: {v}", "{n} con documento {v}", "titular {n}, NIE {v}",
         "dni={v}", "Adjunto copia del DNI {v} para el contrato."]
for _ in range(80):
    v, n = dni()
    if R.random() < 0.2:
        v = v[:8] + "-" + v[8]
    emit("es_dni", "+", R.choice(DNI_T).format(v="⟦" + v + "⟧", n=name()))
for _ in range(40):
    lead = R.randint(0, 2)
    num = R.randint(0, 9999999)
    v = "XYZ"[lead] + f"{num:07d}" + DNI[int(f"{lead}{num:07d}") % 23]
    emit("es_dni", "+", R.choice(DNI_T).format(v="⟦" + v + "⟧", n=name()))
for _ in range(60):
    v, n = dni()
    wrong = R.choice([c for c in DNI if c != DNI[n % 23]])
    emit("es_dni", "-", R.choice(DNI_T).format(v=v[:8] + wrong, n=name()))
for _ in range(15):
    emit("es_dni", "-", f"part {R.randint(10000000, 99999999)}A is out of stock")

# ---------------------------------------------------------------- Italian codice fiscale
ODD = {**{str(d): v for d, v in zip(range(10), [1, 0, 5, 7, 9, 13, 15, 17, 19, 21])},
       **dict(zip(string.ascii_uppercase, [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23]))}

def cf_check(s15):
    t = 0
    for i, ch in enumerate(s15):
        if i % 2 == 0:
            t += ODD[ch]
        else:
            t += int(ch) if ch.isdigit() else ord(ch) - 65
    return chr(65 + t % 26)

def cf():
    L = string.ascii_uppercase
    s = "".join(R.choice(L) for _ in range(6)) + f"{R.randint(0, 99):02d}" + R.choice("ABCDEHLMPRST")
    day = R.randint(1, 31) + (40 if R.random() < 0.5 else 0)
    s += f"{day:02d}" + R.choice(L) + f"{R.randint(0, 999):03d}"
    return s + cf_check(s)

CF_T = ["codice fiscale {v}", "CF: {v}", "{n}, C.F. {v}, residente a Milano", "cf={v}",
        "Il codice fiscale del cliente è {v}."]
emit("it_cf", "+", "codice fiscale ⟦RSSMRA85T10A562S⟧ (the example in the Agenzia delle Entrate guide)")
for _ in range(90):
    emit("it_cf", "+", R.choice(CF_T).format(v="⟦" + cf() + "⟧", n=name()))
for _ in range(60):
    c = cf()
    wrong = R.choice([x for x in string.ascii_uppercase if x != c[15]])
    emit("it_cf", "-", R.choice(CF_T).format(v=c[:15] + wrong, n=name()))
for _ in range(15):
    emit("it_cf", "-", f"token {''.join(R.choice(string.ascii_uppercase + string.digits) for _ in range(16))} expired")

# ---------------------------------------------------------------- German Steuer-ID
def taxid_check(d10):
    product = 10
    for ch in d10:
        s = (int(ch) + product) % 10
        if s == 0: s = 10
        product = (s * 2) % 11
    c = 11 - product
    return "0" if c == 10 else str(c)

def taxid():
    while True:
        digits = [str(d) for d in range(10)]
        R.shuffle(digits)
        # one digit appears twice: replace a position with a copy of another
        k = R.randrange(10)
        j = R.choice([x for x in range(10) if x != k])
        digits[k] = digits[j]
        d = "".join(digits)
        if d[0] == "0":
            continue
        if any(d[i] == d[i + 1] == d[i + 2] for i in range(8)):
            continue
        return d + taxid_check(d)

DE_T = ["Steuer-ID {v}", "Steueridentifikationsnummer: {v}", "IdNr {v} für {n}",
        "Meine Steuer-ID ist {v}.", "tax id {v} (Germany)", "{n}, Identifikationsnummer {v}"]
for _ in range(80):
    v = taxid()
    if R.random() < 0.3:
        v = f"{v[:2]} {v[2:5]} {v[5:8]} {v[8:]}"
    emit("de_taxid", "+", R.choice(DE_T).format(v="⟦" + v + "⟧", n=name()))
for _ in range(60):
    v = taxid()
    bad = v[:10] + str((int(v[10]) + R.randint(1, 9)) % 10)
    emit("de_taxid", "-", R.choice(DE_T).format(v=bad, n=name()))
for _ in range(20):
    emit("de_taxid", "-", f"Kundennummer {R.randint(10000000000, 99999999999)}")

# ---------------------------------------------------------------- French NIR
def nir():
    sex = R.choice("12")
    yy = f"{R.randint(0, 99):02d}"
    mm = f"{R.randint(1, 12):02d}"
    dep = f"{R.choice([x for x in range(1, 96) if x != 20]):02d}"
    com = f"{R.randint(1, 999):03d}"
    order = f"{R.randint(1, 999):03d}"
    body = sex + yy + mm + dep + com + order
    key = 97 - int(body) % 97
    return body + f"{key:02d}"

def fmt_nir(v):
    if R.random() < 0.5:
        return f"{v[0]} {v[1:3]} {v[3:5]} {v[5:7]} {v[7:10]} {v[10:13]} {v[13:]}"
    return v

FR_T = ["numéro de sécurité sociale {v}", "NIR {v}", "n° SS : {v}", "{n}, sécu {v}",
        "Carte Vitale {v}", "nir={v}"]
for _ in range(90):
    emit("fr_nir", "+", R.choice(FR_T).format(v="⟦" + fmt_nir(nir()) + "⟧", n=name()))
for _ in range(60):
    v = nir()
    key = int(v[13:])
    bad = v[:13] + f"{(key + R.randint(1, 50)) % 97 + 1:02d}"
    if bad == v:
        continue
    emit("fr_nir", "-", R.choice(FR_T).format(v=fmt_nir(bad), n=name()))

# ---------------------------------------------------------------- email (templated)
DOMAINS = ["example.com", "mail.example.org", "acme.co.uk", "uni-heidelberg.de", "posteo.de",
           "corp.example.net", "gmail.com", "outlook.fr", "startup.io", "health.gov.au",
           "xn--mller-kva.example", "sub.domain.example.travel"]

def email():
    f, l = R.choice(FIRST).lower(), R.choice(LAST).lower()
    f = f.encode("ascii", "ignore").decode() or "x"
    l = l.encode("ascii", "ignore").decode() or "y"
    local = R.choice([f"{f}.{l}", f"{f[0]}{l}", f"{f}_{l}{R.randint(1, 99)}", f"{f}+news",
                      f"{l}.{f}", f"{f}-{l}", f"{f}{R.randint(1970, 2005)}"])
    return f"{local}@{R.choice(DOMAINS)}"

EMAIL_T = ["Contact me at {v} please.", "email: {v}", "Forwarding to {v} and cc {n}.",
           "<{v}>", "mailto:{v}", "\"reply_to\": \"{v}\",", "{n} <{v}> wrote:",
           "My address is {v}; my manager is {n}.", "send the invoice to {v}."]
for _ in range(150):
    emit("email", "+", R.choice(EMAIL_T).format(v="⟦" + email() + "⟧", n=name()))

# ---------------------------------------------------------------- phones (templated)
def nanp(style):
    a = f"{R.randint(2, 9)}{R.randint(0, 9)}{R.randint(0, 9)}"
    e = f"{R.randint(2, 9)}{R.randint(0, 9)}{R.randint(0, 9)}"
    n = f"{R.randint(0, 9999):04d}"
    return [f"({a}) {e}-{n}", f"{a}-{e}-{n}", f"{a}.{e}.{n}", f"+1 {a} {e} {n}",
            f"1-{a}-{e}-{n}", f"+1-{a}-{e}-{n}", f"{a} {e} {n}"][style]

def intl():
    return R.choice([
        lambda: f"+44 20 {R.randint(7000, 8999)} {R.randint(1000, 9999)}",
        lambda: f"+44 7{R.randint(100, 999)} {R.randint(100000, 999999)}",
        lambda: f"+49 30 {R.randint(1000000, 99999999)}",
        lambda: f"+49 171 {R.randint(1000000, 9999999)}",
        lambda: f"+33 6 {R.randint(10, 99)} {R.randint(10, 99)} {R.randint(10, 99)} {R.randint(10, 99)}",
        lambda: f"+39 02 {R.randint(1000, 9999)} {R.randint(1000, 9999)}",
        lambda: f"+34 6{R.randint(10, 99)} {R.randint(100, 999)} {R.randint(100, 999)}",
        lambda: f"+31 20 {R.randint(100, 999)} {R.randint(1000, 9999)}",
        lambda: f"+81 3-{R.randint(1000, 9999)}-{R.randint(1000, 9999)}",
        lambda: f"+91 {R.randint(70000, 99999)} {R.randint(10000, 99999)}",
        lambda: f"+61 4{R.randint(10, 99)} {R.randint(100, 999)} {R.randint(100, 999)}",
        lambda: f"+4915{R.randint(100000000, 999999999)}",
        lambda: f"+1{R.randint(2, 9)}{R.randint(10, 99)}{R.randint(2, 9)}{R.randint(100000, 999999)}",
    ])()

def national():
    return R.choice([
        lambda: f"020 {R.randint(7000, 8999)} {R.randint(1000, 9999)}",
        lambda: f"07{R.randint(100, 999)} {R.randint(100000, 999999)}",
        lambda: f"0161 {R.randint(100, 999)} {R.randint(1000, 9999)}",
        lambda: f"030 {R.randint(1000000, 99999999)}",
        lambda: f"0171 {R.randint(1000000, 9999999)}",
        lambda: f"06 {R.randint(10, 99)} {R.randint(10, 99)} {R.randint(10, 99)} {R.randint(10, 99)}",
        lambda: f"01.{R.randint(10, 99)}.{R.randint(10, 99)}.{R.randint(10, 99)}.{R.randint(10, 99)}",
        lambda: f"02 {R.randint(1000, 9999)} {R.randint(1000, 9999)}",
        lambda: f"0049 89 {R.randint(1000000, 9999999)}",
    ])()

PHONE_T = ["Call me at {v} after 5pm.", "Phone: {v}", "tel. {v}", "You can reach {n} on {v}.",
           "mobile {v} (WhatsApp too)", "Fax {v}", "{n} - {v} - front desk",
           "Our hotline is {v}.", "ring me on {v} tomorrow", "{{\"phone\": \"{v}\"}}",
           "Please text {v} when you arrive.", "Kontakt: Tel. {v}"]
for _ in range(70):
    emit("phone", "+", R.choice(PHONE_T).format(v="⟦" + nanp(R.randrange(7)) + "⟧", n=name()))
for _ in range(70):
    emit("phone", "+", R.choice(PHONE_T).format(v="⟦" + intl() + "⟧", n=name()))
for _ in range(50):
    emit("phone", "+", R.choice(PHONE_T).format(v="⟦" + national() + "⟧", n=name()))
# phone-shaped numbers in contexts that make them something else
PNEG_T = ["Order #{v} has shipped.", "Invoice {v} is overdue.", "tracking number {v}",
          "ref: {v}", "Ticket {v} was closed as duplicate.", "ISBN {v}", "SKU {v} restocked",
          "transaction id {v}", "account no. {v}", "PO {v} approved", "Booking {v} confirmed"]
for _ in range(60):
    v = R.choice([str(R.randint(1000000000, 9999999999)), f"{R.randint(100, 999)}-{R.randint(100, 999)}-{R.randint(1000, 9999)}",
                  f"0{R.randint(100000000, 999999999)}"])
    emit("phone", "-", R.choice(PNEG_T).format(v=v))
for _ in range(40):
    y, m, d = R.randint(1990, 2030), R.randint(1, 12), R.randint(1, 28)
    v = R.choice([f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{d:02d}.{m:02d}.{y}",
                  f"{y}-{m:02d}-{d:02d} {R.randint(0, 23):02d}:{R.randint(0, 59):02d}",
                  f"{d:02d}.{m:02d}.{y} {R.randint(0, 23)}:{R.randint(0, 59):02d}"])
    emit("phone", "-", R.choice(["The meeting is on {v}.", "released {v}", "Due: {v}",
                                 "log entry {v} INFO started"]).format(v=v))
for _ in range(40):
    v = R.choice([f"{R.randint(0, 30)}.{R.randint(0, 30)}.{R.randint(0, 300)}",
                  f"{R.randint(1, 254)}.{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(1, 254)}",
                  f"{R.randint(1, 9)},{R.randint(100, 999)},{R.randint(100, 999)}",
                  f"{R.randint(1, 999)} {R.randint(100, 999)} {R.randint(100, 999)} EUR",
                  f"{R.randint(1000, 9999)} {R.randint(1000, 9999)}",
                  f"v{R.randint(1, 20)}.{R.randint(0, 20)}.{R.randint(0, 99)}"])
    emit("phone", "-", R.choice(["version {v} is out", "server at {v}", "population {v}",
                                 "the total was {v}", "We upgraded to {v} yesterday.",
                                 "coordinates {v}"]).format(v=v))


# ---------------------------------------------------------------- secrets (templated)
AN = string.ascii_letters + string.digits

def rnd(n, alphabet=AN):
    while True:
        v = "".join(R.choice(alphabet) for _ in range(n))
        if any(c.isdigit() for c in v) and any(c.isalpha() for c in v):
            return v

def b64url(n):
    return rnd(n, AN + "-_")

def secret():
    k = R.randrange(13)
    if k == 0: return "sk-" + rnd(48)
    if k == 1: return "sk-proj-" + b64url(R.choice([48, 64, 120]))
    if k == 2: return "sk-ant-api03-" + b64url(93) + "AA"
    if k == 3: return R.choice(["AKIA", "ASIA"]) + rnd(16, string.ascii_uppercase + string.digits)
    if k == 4: return R.choice(["ghp_", "gho_", "ghs_"]) + rnd(36)
    if k == 5: return "github_pat_" + rnd(22) + "_" + rnd(59)
    if k == 6: return R.choice(["xoxb-", "xoxp-"]) + f"{R.randint(10**10, 10**11)}-{R.randint(10**10, 10**11)}-" + rnd(24)
    if k == 7: return "AIza" + b64url(35)
    if k == 8: return R.choice(["sk_live_", "rk_live_", "sk_test_"]) + rnd(R.choice([24, 32, 99]))
    if k == 9:
        return "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + "eyJ" + b64url(R.randint(30, 90)) + "." + b64url(43)
    if k == 10: return "hooks.slack.com/services/T" + rnd(8, string.ascii_uppercase + string.digits) + "/B" + rnd(10, string.ascii_uppercase + string.digits) + "/" + rnd(24)
    if k == 11: return None  # aws secret, below
    return None  # generic

SECRET_T = ["export OPENAI_API_KEY={v}", "my key is {v}, why does it fail?", "curl -H 'Authorization: Bearer {v}' https://api.example.com",
            "Here is the token: {v}", "I accidentally committed {v} to the repo", "config: {{\"key\": \"{v}\"}}",
            "Error 401 with {v}", "Use {v} for the staging account."]
for _ in range(130):
    v = secret()
    if v is None:
        kind = R.random()
        if kind < 0.4:
            v = rnd(40, AN + "/+")
            emit("secret", "+", R.choice(["aws_secret_access_key = ⟦{v}⟧", "AWS secret: ⟦{v}⟧",
                                          "aws configure set aws_secret_access_key ⟦{v}⟧"]).format(v=v))
        else:
            key = R.choice(["api_key", "API_KEY", "client_secret", "access_token", "SECRET_KEY", "auth_token", "db_password", "x-api-key"])
            val = rnd(R.choice([20, 32, 40]), AN + "_-") if "password" not in key else rnd(12, AN + "!#%&")
            sep = R.choice(["=", ": ", " = ", "\": \""])
            q = "\"" if sep == "\": \"" else ""
            emit("secret", "+", f"{q}{key}{sep}⟦{val}⟧{q}")
        continue
    emit("secret", "+", R.choice(SECRET_T).format(v="⟦" + v + "⟧"))
# key-shaped things that are not secrets
for _ in range(40):
    v = R.choice([
        "".join(R.choice("0123456789abcdef") for _ in range(40)),
        "".join(R.choice("0123456789abcdef") for _ in range(64)),
        "-".join("".join(R.choice("0123456789abcdef") for _ in range(n)) for n in (8, 4, 4, 4, 12)),
        "".join(R.choice(string.ascii_lowercase) for _ in range(40)),
        "sha256:" + "".join(R.choice("0123456789abcdef") for _ in range(64)),
    ])
    emit("secret", "-", R.choice(["commit {v} fixed it", "request id {v}", "digest {v}",
                                  "The build artifact is {v}.", "trace_id={v}"]).format(v=v))

# ---------------------------------------------------------------- deny list (templated)
# The list the test builds: words [project nightingale, bluebird, falcon-x,
# internal only, darn], regex ['\bACME-\d{4}\b', '(?i)codename\s+[a-z]+'].
DENY_POS = ["Project Nightingale", "project nightingale", "PROJECT  NIGHTINGALE", "project-nightingale",
            "Bluebird", "BLUEBIRD", "bluebird", "falcon-x", "Falcon X", "FALCON_X".replace("_", " "),
            "internal only", "Internal-Only", "darn", "Darn"]
DENY_NEAR = ["nightingale", "project night", "bluebirds", "blue bird", "bluebird2", "falconx",
             "falcon", "internally only", "internal use only", "darned", "darning", "ACME-123",
             "ACME-12345", "acme-1234", "code name orion", "codenames", "XACME-1234"]
DENY_T = ["Any update on {v}?", "{v} is on hold until Q3.", "Can you draft a memo about {v}?",
          "I heard {v} got cancelled.", "\"title\": \"{v} kickoff\"", "re: {v} (fwd)",
          "The slides mention {v} twice.", "{v}!", "Why is {v} late?", "- {v}\\n- budget\\n- hiring"]
for _ in range(110):
    v = R.choice(DENY_POS + ["ACME-%04d" % R.randint(0, 9999), "codename " + R.choice(["orion", "vega", "Lyra", "ATLAS"])])
    emit("deny", "+", R.choice(DENY_T).format(v="⟦" + v + "⟧"))
for _ in range(90):
    emit("deny", "-", R.choice(DENY_T).format(v=R.choice(DENY_NEAR)))

sys.stdout.write("# generated by gen.py (seed 20240601): do not edit; see README.md\n")
sys.stdout.write("\n".join(out) + "\n")
