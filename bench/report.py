#!/usr/bin/env python3
"""bench/report.py - turn the benchmark scripts' raw rows into tables.

  report.py proxy --runs F --lat F --rss F --direct NAME --hist-dir D --out D [--meta S]
  report.py streams --in F --out D
  report.py ipr --tsv bench/results/ipr.tsv [--commit C]

Medians over the rounds of a run; ratios are between scenarios of the same
run. Prints markdown tables (BENCHMARKS.md takes them as printed) and writes
the machine-readable results the plots read.
"""
import argparse
import os
import shutil
import statistics
import sys

TARGETS = {
    'passthrough_vs_nginx': 1.0,
    'translate_vs_nginx': 0.8,
    'vs_portkey': 50.0,
    'added_p99_us': 100.0,
}

LABELS = {
    'sim': 'a. direct to the simulator',
    'nginx-static': 'direct to nginx (static body)',
    'nginx-proxy': 'b. nginx proxy_pass',
    'sy-passthrough': 'c. Switchyard passthrough',
    'sy-translate': 'd. Switchyard OpenAI→Anthropic',
    'sy-passthrough-noaudit': 'c′. passthrough, audit log off',
    'sy-translate-noaudit': 'd′. OpenAI→Anthropic, audit log off',
    'sy-passthrough-sqlite': 'c″. passthrough, audit log in SQLite',
    'sy-translate-sqlite': 'd″. OpenAI→Anthropic, audit log in SQLite',
    'portkey': 'e. Portkey gateway',
    'portkey-translate': 'Portkey OpenAI→Anthropic',
}


def rows(path):
    out = []
    if not path or not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            line = line.rstrip('\n')
            if not line or line.startswith('kind\t'):
                continue
            out.append(line.split('\t'))
    return out


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fnum(x, fmt='{:,.0f}'):
    return '–' if x is None else fmt.format(x)


def proxy(a):
    sat = {}
    for r in rows(a.runs):
        if r[0] != 'sat':
            continue
        s = r[2]
        sat.setdefault(s, []).append((float(r[3]), float(r[5]), int(r[6] or 0), int(r[7] or 0)))
    lat = {}
    for r in rows(a.lat):
        s = r[2]
        lat.setdefault(s, []).append({
            'round': r[1], 'rate': float(r[3]), 'p50': float(r[4]), 'p90': float(r[5]),
            'p99': float(r[6]), 'p999': float(r[7]), 'max': float(r[8]),
            'errors': int(r[9]), 'backlog': int(r[10])})
    rss = {r[1]: int(r[2]) for r in rows(a.rss)}
    order = [s for s in LABELS if s in sat] + [s for s in sat if s not in LABELS]
    res = {}
    for s in order:
        m = {
            'rps': med([x[0] for x in sat[s]]),
            'rps_all': [x[0] for x in sat[s]],
            'cpu': med([x[1] for x in sat[s]]),
            'bad': sum(x[2] + x[3] for x in sat[s]),
            'rss': rss.get(s),
        }
        L = lat.get(s, [])
        for k in ('rate', 'p50', 'p90', 'p99', 'p999', 'max'):
            m[k] = med([x[k] for x in L])
        m['lat_bad'] = sum(x['errors'] + x['backlog'] for x in L)
        res[s] = m
        # the percentile curve of the round with the median p99, for the plots
        if L and a.hist_dir:
            pick = sorted(L, key=lambda x: x['p99'])[(len(L) - 1) // 2]
            src = os.path.join(a.hist_dir, 'hist-%s-%s.tsv' % (s, pick['round']))
            if os.path.exists(src):
                shutil.copy(src, os.path.join(a.out, 'latency-%s.tsv' % s))
    d = res.get(a.direct)
    ng = res.get('nginx-proxy')
    pk = res.get('portkey')

    def ratio(x, y):
        return x / y if x and y else None

    print('\n### Proxy benchmark (%s)\n' % (a.meta or ''))
    print('| scenario | req/s (median) | vs nginx proxy | CPU µs/req | peak RSS MiB | rate req/s '
          '| p50 µs | p99 µs | p99.9 µs | added p50 / p99 / p99.9 µs |')
    print('|---|---:|---:|---:|---:|---:|---:|---:|---:|---|')
    tsv = ['scenario\trps\trps_rounds\tvs_nginx_proxy\tcpu_us_per_req\tpeak_rss_kb\trate\tp50_us\t'
           'p90_us\tp99_us\tp999_us\tmax_us\tadded_p50_us\tadded_p99_us\tadded_p999_us']
    for s in order:
        m = res[s]
        added = ['–'] * 3
        addv = [None] * 3
        if d and s != a.direct and m['p50'] is not None and d['p50'] is not None \
                and m['rate'] == d['rate']:
            addv = [m[k] - d[k] for k in ('p50', 'p99', 'p999')]
            added = ['%+.0f' % x for x in addv]
        elif s != a.direct and m['rate'] is not None and d and m['rate'] != d['rate']:
            added = ['(at %d req/s)' % m['rate'], '', '']
        vs = ratio(m['rps'], ng['rps']) if ng else None
        print('| %s | %s%s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
            LABELS.get(s, s), fnum(m['rps']), ' ⚠' if m['bad'] else '',
            fnum(vs, '{:.2f}×'), fnum(m['cpu'], '{:.1f}'),
            fnum(m['rss'] / 1024 if m['rss'] else None, '{:.1f}'), fnum(m['rate']),
            fnum(m['p50']), fnum(m['p99']), fnum(m['p999']), ' / '.join(x for x in added if x)))
        tsv.append('\t'.join(str(x) for x in [
            s, fnum(m['rps'], '{:.0f}'), ','.join('%.0f' % x for x in m['rps_all']),
            fnum(vs, '{:.3f}'), fnum(m['cpu'], '{:.2f}'), m['rss'] or '', fnum(m['rate'], '{:.0f}'),
            fnum(m['p50'], '{:.1f}'), fnum(m['p90'], '{:.1f}'), fnum(m['p99'], '{:.1f}'),
            fnum(m['p999'], '{:.1f}'), fnum(m['max'], '{:.1f}'),
            fnum(addv[0], '{:.1f}'), fnum(addv[1], '{:.1f}'), fnum(addv[2], '{:.1f}')]))
    with open(os.path.join(a.out, 'proxy.tsv'), 'w') as f:
        f.write('# %s\n' % (a.meta or ''))
        f.write('\n'.join(tsv) + '\n')
    print()
    sp = res.get('sy-passthrough')
    checks = []
    # (suffix, how the output names it): the three Switchyard gateways of a run
    for suffix, how in (('', ''), ('-noaudit', ', audit log off'),
                        ('-sqlite', ', audit log in SQLite')):
        for kind, target, what in (('passthrough', 'passthrough_vs_nginx', '1.0'),
                                   ('translate', 'translate_vs_nginx', '0.8')):
            m = res.get('sy-%s%s' % (kind, suffix))
            if m and ng:
                name = 'passthrough' if kind == 'passthrough' else 'translation'
                checks.append(('%s%s%s ≥ %s× nginx proxy_pass'
                               % (name, ' throughput' if not suffix else '', how, what),
                               ratio(m['rps'], ng['rps']), TARGETS[target], '{:.2f}×'))
    if sp and pk:
        checks.append(('passthrough throughput ≥ 50× Portkey', ratio(sp['rps'], pk['rps']),
                       TARGETS['vs_portkey'], '{:.0f}×'))
    for s in ('sy-passthrough', 'sy-translate', 'sy-passthrough-noaudit', 'sy-translate-noaudit',
              'sy-passthrough-sqlite', 'sy-translate-sqlite'):
        m = res.get(s)
        if m and d and m['p99'] is not None and m['rate'] == d['rate']:
            checks.append(('%s: added p99 at %d req/s ≤ 100 µs' % (s, m['rate']),
                           -(m['p99'] - d['p99']), -TARGETS['added_p99_us'], '{:+.0f} µs'))
    if 'sim' in res and 'nginx-static' in res:
        r = ratio(res['sim']['rps'], res['nginx-static']['rps'])
        print('sim (one worker) vs nginx static body (one worker): %s' % fnum(r, '{:.2f}×'))
    for name, val, target, fmt in checks:
        ok = val is not None and val >= target
        shown = fmt.format(-val) if 'added' in name else fmt.format(val)
        print('%s %s: %s' % ('MET ' if ok else 'MISS', name, shown))


def streams(a):
    # rows: label key=value ...
    out = {}
    with open(a.input) as f:
        for line in f:
            parts = line.split()
            if not parts or parts[0] not in ('RESULT', 'RSS'):
                continue
            kv = dict(p.split('=', 1) for p in parts[1:] if '=' in p)
            lab = kv.get('label')
            if parts[0] == 'RESULT':
                out.setdefault(lab, {}).update(kv)
            else:
                out.setdefault(lab, {})['rss_' + kv['name']] = kv
    print('| run | streams | completed | TTFT p50 / p99 µs | lateness p50 / p99 / p99.9 / max µs '
          '| events > 10 ms late | RSS per stream | CPU µs per event |')
    print('|---|---:|---:|---|---|---:|---|---|')
    for lab, kv in out.items():
        rss = '; '.join('%s %.1f KiB' % (k[4:], float(v['per_stream_b']) / 1024)
                        for k, v in kv.items() if k.startswith('rss_'))
        cpu = '; '.join(['%s %s' % (k[4:], v.get('cpu_us_per_event', '?'))
                         for k, v in kv.items() if k.startswith('rss_')] +
                        ['client %s' % kv.get('client_cpu_us_per_event', '?')])
        print('| %s | %s | %s | %s / %s | %s / %s / %s / %s | %s of %s | %s | %s |' % (
            lab, kv.get('streams'), kv.get('completed'), kv.get('ttft_p50_us'),
            kv.get('ttft_p99_us'), kv.get('late_p50_us'), kv.get('late_p99_us'),
            kv.get('late_p999_us'), kv.get('late_max_us'), kv.get('stalls'), kv.get('events'),
            rss, cpu))


def ipr(a):
    last = {}
    with open(a.tsv) as f:
        for line in f:
            if line.startswith('#') or line.startswith('date\t'):
                continue
            p = line.rstrip('\n').split('\t')
            if len(p) < 5:
                continue
            if a.commit and p[1] != a.commit:
                continue
            last[p[2]] = p
    print('| scenario | instructions / request | commit | requests |')
    print('|---|---:|---|---:|')
    for s, p in last.items():
        print('| %s | %s | %s | %s |' % (s, '{:,}'.format(int(float(p[4]))), p[1], p[3]))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('proxy')
    p.add_argument('--runs')
    p.add_argument('--lat')
    p.add_argument('--rss')
    p.add_argument('--direct', default='sim')
    p.add_argument('--hist-dir')
    p.add_argument('--out', required=True)
    p.add_argument('--meta')
    p = sub.add_parser('streams')
    p.add_argument('--in', dest='input', required=True)
    p = sub.add_parser('ipr')
    p.add_argument('--tsv', required=True)
    p.add_argument('--commit')
    a = ap.parse_args()
    {'proxy': proxy, 'streams': streams, 'ipr': ipr}[a.cmd](a)


if __name__ == '__main__':
    sys.exit(main())
