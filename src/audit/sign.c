/*
 * sign.c - Ed25519 through OpenSSL's EVP interface.
 */
#include "audit/sign.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sy_signer {
    EVP_PKEY *key;
    uint8_t pub[SY_ED25519_PUB_LEN];
};

static int fill_public(EVP_PKEY *k, uint8_t pub[SY_ED25519_PUB_LEN])
{
    size_t len = SY_ED25519_PUB_LEN;
    if (EVP_PKEY_get_raw_public_key(k, pub, &len) != 1 || len != SY_ED25519_PUB_LEN)
        return SY_EINVAL;
    return SY_OK;
}

/* Write the public half beside the key, as FILE.pub (PEM), world-readable. */
static void write_public_file(const char *path, const uint8_t pub[SY_ED25519_PUB_LEN])
{
    char pubpath[4096];
    if ((size_t)snprintf(pubpath, sizeof(pubpath), "%s.pub", path) >= sizeof(pubpath))
        return;
    sy_buf_t b;
    sy_buf_init(&b, 0);
    if (sy_ed25519_public_pem(pub, &b) == SY_OK) {
        int fd = open(pubpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            (void)!write(fd, sy_buf_ptr(&b), b.len);
            close(fd);
        }
    }
    sy_buf_free(&b);
}

static sy_signer_t *generate(const char *path, char *err, size_t errsz)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (k == NULL) {
        snprintf(err, errsz, "cannot generate an Ed25519 key");
        return NULL;
    }
    /* O_EXCL: never overwrite a key another process just made. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errsz, "cannot create %s: %s", path, strerror(errno));
        EVP_PKEY_free(k);
        return NULL;
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL || PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1 ||
        fflush(f) != 0 || fsync(fd) != 0) {
        snprintf(err, errsz, "cannot write %s", path);
        if (f)
            fclose(f);
        else
            close(fd);
        unlink(path);
        EVP_PKEY_free(k);
        return NULL;
    }
    fclose(f);
    sy_signer_t *s = sy_calloc(1, sizeof(*s));
    s->key = k;
    fill_public(k, s->pub);
    write_public_file(path, s->pub);
    return s;
}

sy_signer_t *sy_signer_open(const char *path, bool create, bool *created, char *err, size_t errsz)
{
    if (created)
        *created = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        sy_signer_t *s = generate(path, err, errsz);
        if (s && created)
            *created = true;
        return s;
    }
    if (fd < 0) {
        snprintf(err, errsz, "cannot open the signing key %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || (st.st_mode & 077)) {
        snprintf(err, errsz,
                 "the signing key %s is readable by group or others; chmod 600 it", path);
        close(fd);
        return NULL;
    }
    FILE *f = fdopen(fd, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    else
        close(fd);
    if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519) {
        snprintf(err, errsz, "%s is not an Ed25519 private key in PEM form", path);
        EVP_PKEY_free(k);
        return NULL;
    }
    sy_signer_t *s = sy_calloc(1, sizeof(*s));
    s->key = k;
    fill_public(k, s->pub);
    return s;
}

void sy_signer_free(sy_signer_t *s)
{
    if (s == NULL)
        return;
    EVP_PKEY_free(s->key);
    free(s);
}

const uint8_t *sy_signer_public(const sy_signer_t *s)
{
    return s->pub;
}

int sy_signer_sign(const sy_signer_t *s, const void *msg, size_t n, uint8_t sig[SY_ED25519_SIG_LEN])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t len = SY_ED25519_SIG_LEN;
    int rc = SY_ERR;
    if (c && EVP_DigestSignInit(c, NULL, NULL, NULL, s->key) == 1 &&
        EVP_DigestSign(c, sig, &len, msg, n) == 1 && len == SY_ED25519_SIG_LEN)
        rc = SY_OK;
    EVP_MD_CTX_free(c);
    return rc;
}

bool sy_ed25519_verify(const uint8_t pub[SY_ED25519_PUB_LEN], const void *msg, size_t n,
                       const uint8_t sig[SY_ED25519_SIG_LEN])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, SY_ED25519_PUB_LEN);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = k && c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1 &&
              EVP_DigestVerify(c, sig, SY_ED25519_SIG_LEN, msg, n) == 1;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    return ok;
}

int sy_ed25519_load_public(const char *path, uint8_t pub[SY_ED25519_PUB_LEN], char *err,
                           size_t errsz)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        snprintf(err, errsz, "cannot open %s: %s", path, strerror(errno));
        return SY_EINVAL;
    }
    char text[8192];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    /* 64 hex digits, possibly with surrounding white space */
    sy_str_t t = sy_str_c(text);
    while (t.len && (t.p[t.len - 1] == '\n' || t.p[t.len - 1] == '\r' || t.p[t.len - 1] == ' '))
        t.len--;
    t = sy_str_trim(t);
    if (sy_unhex(t, pub, SY_ED25519_PUB_LEN) == SY_OK)
        return SY_OK;
    BIO *bio = BIO_new_mem_buf(text, (int)n);
    EVP_PKEY *k = NULL;
    if (bio && strstr(text, "PRIVATE KEY"))
        k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    else if (bio)
        k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    int rc = SY_EINVAL;
    if (k && EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 && fill_public(k, pub) == SY_OK)
        rc = SY_OK;
    else
        snprintf(err, errsz, "%s holds no Ed25519 public key (PEM or 64 hex digits)", path);
    EVP_PKEY_free(k);
    return rc;
}

int sy_ed25519_public_pem(const uint8_t pub[SY_ED25519_PUB_LEN], sy_buf_t *out)
{
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, SY_ED25519_PUB_LEN);
    BIO *bio = BIO_new(BIO_s_mem());
    int rc = SY_ERR;
    if (k && bio && PEM_write_bio_PUBKEY(bio, k) == 1) {
        char *data = NULL;
        long len = BIO_get_mem_data(bio, &data);
        if (len > 0)
            rc = sy_buf_append(out, data, (size_t)len);
    }
    BIO_free(bio);
    EVP_PKEY_free(k);
    return rc;
}

char *sy_ed25519_key_id(const uint8_t pub[SY_ED25519_PUB_LEN], char out[17])
{
    sy_hash_t h;
    sy_sha256(pub, SY_ED25519_PUB_LEN, &h);
    return sy_hex(h.b, 8, out);
}

size_t sy_checkpoint_message(uint64_t tree_size, const sy_hash_t *root, uint64_t time_ms,
                             char out[SY_CHECKPOINT_MAX])
{
    char hex[2 * SY_HASH_LEN + 1];
    int n = snprintf(out, SY_CHECKPOINT_MAX,
                     "switchyard-audit-checkpoint/v1\ntree_size=%" PRIu64 "\nroot=%s\ntime_ms=%" PRIu64
                     "\n",
                     tree_size, sy_hex(root->b, SY_HASH_LEN, hex), time_ms);
    return (size_t)n;
}
