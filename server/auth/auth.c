/*
 * auth.c — API keys and the settings file (see auth.h).
 *
 * Order of the first start matters: the settings file is written before
 * the key's hash is committed. If the commit fails, the next start still
 * finds no key and starts over; the other order could leave a database
 * with a key nobody knows, locking everyone out.
 */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <pwquality.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store_acct.h"
#include "util/buf.h"
#include "util/log.h"

#define SETTINGS_MAX (64u * 1024u)

int wbs__key_generate(char out[WBS__KEY_LEN + 1])
{
	static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned char rnd[64];
	size_t n = 0;

	memcpy(out, "wb_", 3);
	while (n < 40) {
		ssize_t got = getrandom(rnd, sizeof(rnd), 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		/* Rejection sampling: 248 = 4 * 62, so every character is equally likely. */
		for (ssize_t i = 0; i < got && n < 40; i++)
			if (rnd[i] < 248)
				out[3 + n++] = b62[rnd[i] % 62];
	}
	out[WBS__KEY_LEN] = '\0';
	return 0;
}

void wbs__key_hash(const char *key, size_t len, uint8_t out[32])
{
	unsigned int n = 32;
	EVP_Digest(key, len, out, &n, EVP_sha256(), NULL);
}

int wbs__settings_path(char *out, size_t cap)
{
	const char *d;
	int k;

	if ((d = getenv("WB_CONFIG_DIR")) && *d)
		k = snprintf(out, cap, "%s/settings", d);
	else if ((d = getenv("XDG_CONFIG_HOME")) && *d)
		k = snprintf(out, cap, "%s/wb/settings", d);
	else if ((d = getenv("HOME")) && *d)
		k = snprintf(out, cap, "%s/.config/wb/settings", d);
	else
		return -1;
	return k > 0 && (size_t)k < cap ? 0 : -1;
}

/* Read a whole small file into a NUL-terminated malloc'd string. NULL if missing or too big. */
static char *read_small(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	size_t n;

	if (!f)
		return NULL;
	p = malloc(SETTINGS_MAX + 1);
	if (p) {
		n = fread(p, 1, SETTINGS_MAX + 1, f);
		if (n > SETTINGS_MAX || ferror(f)) {
			free(p);
			p = NULL;
		} else {
			p[n] = '\0';
		}
	}
	fclose(f);
	return p;
}

/* Value of "name=value" in text (spaces around '=' allowed), copied to out. 0 or -1. */
static int find_line(const char *text, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	const char *p = text;

	while (p && *p) {
		const char *eol = strchr(p, '\n'), *v;
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		while (len && (*p == ' ' || *p == '\t'))
			p++, len--;
		if (len > nl && strncmp(p, name, nl) == 0) {
			v = p + nl;
			while (v < p + len && (*v == ' ' || *v == '\t'))
				v++;
			if (v < p + len && *v == '=') {
				size_t vl;
				v++;
				while (v < p + len && (*v == ' ' || *v == '\t'))
					v++;
				vl = (size_t)(p + len - v);
				while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t' || v[vl - 1] == '\r'))
					vl--;
				if (vl >= cap)
					return -1;
				memcpy(out, v, vl);
				out[vl] = '\0';
				return 0;
			}
		}
		p = eol ? eol + 1 : NULL;
	}
	return -1;
}

int wbs__settings_read_key(const char *path, char *key, size_t cap)
{
	char *text = read_small(path);
	int rc;

	if (!text)
		return -1;
	rc = find_line(text, "api_key", key, cap);
	free(text);
	return rc;
}

/* mkdir -p of the directory part of path, new directories 0700. */
static int mkdir_parents(const char *path)
{
	char tmp[4096];
	size_t n = strlen(path);

	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

/* The name of a "name=value" line (leading blanks skipped, up to a blank or '='), its length in *n. */
static const char *line_name(const char *p, size_t len, size_t *n)
{
	const char *e = p + len;

	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	*n = 0;
	while (p + *n < e && !strchr(" \t=", p[*n]))
		(*n)++;
	return p;
}

/* a and b (of lengths la, lb) name the same server: equal but for trailing '/'. */
static int same_url_n(const char *a, size_t la, const char *b, size_t lb)
{
	while (la && a[la - 1] == '/')
		la--;
	while (lb && b[lb - 1] == '/')
		lb--;
	return la == lb && strncmp(a, b, la) == 0;
}

static int same_url(const char *a, const char *b) { return same_url_n(a, strlen(a), b, strlen(b)); }

/* name (of length n) is "api_key@" or "entity@" followed by url: a line that belongs to url's key. */
static int is_key_of(const char *name, size_t n, const char *url)
{
	return (n > 8 && strncmp(name, "api_key@", 8) == 0 && same_url_n(name + 8, n - 8, url, strlen(url))) ||
	       (n > 7 && strncmp(name, "entity@", 7) == 0 && same_url_n(name + 7, n - 7, url, strlen(url)));
}

/* A value that fits on a settings line, and in an api_key@URL name. */
static int settings_value_ok(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v <= 0x20 || *v == 0x7f || *v == '=')
			return 0;
	return 1;
}

int wbs__settings_write(const char *path, const char *base_url, const char *api_key, const char *entity, char *err,
			 size_t errlen)
{
	char tmp[4200] = "", old_url[2048] = "", old_key[256] = "", old_entity[128] = "";
	char *old = NULL;
	wbs__buf b;
	int fd = -1, rc = -1;

	wbs__buf_init(&b, SETTINGS_MAX);
	if (!settings_value_ok(base_url) || (api_key && !settings_value_ok(api_key)) ||
	    (entity && (!entity[0] || !settings_value_ok(entity)))) {
		snprintf(err, errlen, "a base URL, key or entity with a space, control character or '=' cannot be saved");
		goto done;
	}
	if (mkdir_parents(path)) {
		snprintf(err, errlen, "cannot create the directory of %s: %s", path, strerror(errno));
		goto done;
	}
	old = read_small(path);
	/*
	 * A new key makes base_url the default server; the key of the server
	 * it replaces moves to an api_key@URL line, where the SDK finds it
	 * when pointed at that server again. Without a key only base_url
	 * changes (the same server, moved). The entity line is the key
	 * owner's entity (the default entity of runs made with that key): it
	 * travels with its key, to entity@URL, and goes when its key goes.
	 */
	if (api_key) {
		wbs__buf_printf(&b, "base_url=%s\napi_key=%s\n", base_url, api_key);
		if (entity)
			wbs__buf_printf(&b, "entity=%s\n", entity);
		if (old && find_line(old, "base_url", old_url, sizeof(old_url)) == 0 &&
		    find_line(old, "api_key", old_key, sizeof(old_key)) == 0 && old_key[0] && settings_value_ok(old_url) &&
		    settings_value_ok(old_key) && !same_url(old_url, base_url)) {
			wbs__buf_printf(&b, "api_key@%s=%s\n", old_url, old_key);
			if (find_line(old, "entity", old_entity, sizeof(old_entity)) == 0 && old_entity[0] &&
			    settings_value_ok(old_entity))
				wbs__buf_printf(&b, "entity@%s=%s\n", old_url, old_entity);
		} else {
			old_key[0] = '\0';
		}
	}
	for (const char *p = old; p && *p;) {
		const char *eol = strchr(p, '\n'), *name;
		size_t len = eol ? (size_t)(eol - p) : strlen(p), n;
		int drop;

		name = line_name(p, len, &n);
		drop = n == 8 && strncmp(name, "base_url", 8) == 0;
		if (api_key)
			drop = drop || (n == 7 && strncmp(name, "api_key", 7) == 0) || (n == 6 && strncmp(name, "entity", 6) == 0) ||
			       is_key_of(name, n, base_url) || (old_key[0] && is_key_of(name, n, old_url));
		if (!drop) {
			wbs__buf_put(&b, p, len);
			wbs__buf_putc(&b, '\n');
		}
		p = eol ? eol + 1 : p + len;
	}
	if (!api_key)
		wbs__buf_printf(&b, "base_url=%s\n", base_url);
	if (b.err) {
		snprintf(err, errlen, "settings file %s is too large", path);
		goto done;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp)) {
		snprintf(err, errlen, "settings path is too long");
		tmp[0] = '\0';
		goto done;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto done;
	}
	if (fchmod(fd, 0600) || write(fd, b.p, b.len) != (ssize_t)b.len || fsync(fd)) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto done;
	}
	if (close(fd)) {
		fd = -1;
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp, path)) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto done;
	}
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	if (rc && tmp[0])
		unlink(tmp);
	/* keys: not left in freed memory */
	OPENSSL_cleanse(old_key, sizeof(old_key));
	if (old)
		OPENSSL_cleanse(old, strlen(old));
	free(old);
	if (b.p)
		OPENSSL_cleanse(b.p, b.len);
	wbs__buf_free(&b);
	return rc;
}

#define SCRYPT_N 32768u
#define SCRYPT_R 8u
#define SCRYPT_P 1u
#define SCRYPT_MAXMEM (256ull * 1024 * 1024)

int wbs__password_hash(const char *pw, char out[WBS__PASSWORD_HASH_MAX])
{
	unsigned char salt[16], dk[32], s64[32], d64[48];
	size_t got = 0;

	while (got < sizeof(salt)) {
		ssize_t n = getrandom(salt + got, sizeof(salt) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	if (EVP_PBE_scrypt(pw, strlen(pw), salt, sizeof(salt), SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_MAXMEM, dk,
			   sizeof(dk)) != 1)
		return -1;
	EVP_EncodeBlock(s64, salt, sizeof(salt));
	EVP_EncodeBlock(d64, dk, sizeof(dk));
	snprintf(out, WBS__PASSWORD_HASH_MAX, "scrypt$%u$%u$%u$%s$%s", SCRYPT_N, SCRYPT_R, SCRYPT_P, s64, d64);
	OPENSSL_cleanse(dk, sizeof(dk));
	return 0;
}

static pthread_mutex_t pwq_mu = PTHREAD_MUTEX_INITIALIZER;
static pwquality_settings_t *pwq; /* made on first use, under pwq_mu, kept for the process */

int wbs__password_check(const char *pw, const char *user, char *why, size_t cap)
{
	char msg[PWQ_MAX_ERROR_MESSAGE_LEN];
	const char *reason;
	void *aux = NULL;
	int rc, ret = -1;

	pthread_mutex_lock(&pwq_mu);
	if (!pwq && (pwq = pwquality_default_settings()) != NULL) {
		/* Length and the dictionary are the rules; the character-class credits stay at 0. */
		pwquality_set_int_value(pwq, PWQ_SETTING_MIN_LENGTH, (int)WBS__PASSWORD_MIN);
		pwquality_set_int_value(pwq, PWQ_SETTING_DICT_CHECK, 1);
		pwquality_set_int_value(pwq, PWQ_SETTING_USER_CHECK, 1);
	}
	if (!pwq) {
		snprintf(why, cap, "out of memory for the password checker");
		goto done;
	}
	rc = pwquality_check(pwq, pw, NULL, user, &aux);
	if (rc >= 0) {
		ret = 0;
		goto done;
	}
	/* The answer is the returned pointer: msg is used only for messages with numbers in them. */
	reason = pwquality_strerror(msg, sizeof(msg), rc, aux);
	/* A dictionary that cannot be opened is the server's fault, not the password's. */
	ret = rc == PWQ_ERROR_CRACKLIB_CHECK && aux && strstr((const char *)aux, "dictionary") &&
		      strstr((const char *)aux, "load")
		  ? -1
		  : 1;
	snprintf(why, cap, "%s", reason ? reason : "it is too weak");
done:
	pthread_mutex_unlock(&pwq_mu);
	return ret;
}

int wbs__password_verify(const char *pw, const char *encoded)
{
	unsigned long long n, r, p;
	char s64[64], d64[64];
	unsigned char salt[64], want[64], dk[32];
	int ok = 0;

	if (!pw || !encoded || sscanf(encoded, "scrypt$%llu$%llu$%llu$%63[^$]$%63s", &n, &r, &p, s64, d64) != 5)
		return 0;
	if (strlen(s64) != 24 || strlen(d64) != 44 || n < 2 || n > (1u << 20) || r < 1 || r > 32 || p < 1 || p > 16)
		return 0;
	if (EVP_DecodeBlock(salt, (const unsigned char *)s64, 24) != 18 ||
	    EVP_DecodeBlock(want, (const unsigned char *)d64, 44) != 33)
		return 0;
	if (EVP_PBE_scrypt(pw, strlen(pw), salt, 16, n, r, p, SCRYPT_MAXMEM, dk, sizeof(dk)) == 1)
		ok = CRYPTO_memcmp(dk, want, sizeof(dk)) == 0;
	OPENSSL_cleanse(dk, sizeof(dk));
	return ok;
}

int wbs__setup_link(wbs__store *s, int64_t user_id, const char *base_url, char *link, size_t cap, char *err,
		    size_t errlen)
{
	char tok[WBS__KEY_LEN + 1];
	uint8_t hash[32];
	wbs__err e = {0};
	struct timespec ts;

	if (wbs__token_generate(tok)) {
		snprintf(err, errlen, "no randomness for a token");
		return -1;
	}
	wbs__key_hash(tok, WBS__KEY_LEN, hash);
	clock_gettime(CLOCK_REALTIME, &ts);
	if (wbs__store_setup_add(s, user_id, hash, (double)ts.tv_sec + WBS__SETUP_TTL, &e)) {
		snprintf(err, errlen, "cannot store a setup token: %s", e.msg);
		return -1;
	}
	snprintf(link, cap, "%s/setup?token=%s", base_url, tok);
	OPENSSL_cleanse(tok, sizeof(tok));
	return 0;
}

/* Log a setup link for the admin while the admin has no password. */
static void admin_setup_link(wbs__store *s, const char *base_url)
{
	int64_t id = 0;
	int is_admin = 0;
	char *pw = NULL, link[600], err[300];
	wbs__err e = {0};

	if (wbs__store_user_get(s, "admin", &id, &is_admin, &pw, &e) == WBS__ST_OK && !pw && is_admin) {
		if (wbs__setup_link(s, id, base_url, link, sizeof(link), err, sizeof(err)) == 0)
			wbs__log(WBS__LOG_INFO, "set the admin password (one-time link, valid 24 h)", "user=admin link=%s",
				 link);
		else
			wbs__log(WBS__LOG_WARN, "cannot make a setup link", "error=%s", err);
	}
	free(pw);
}

int wbs__auth_bootstrap(wbs__store *s, const char *base_url, char *err, size_t errlen)
{
	char path[4096], key[256];
	uint8_t hash[32];
	uint64_t nkeys = 0;
	int64_t uid;
	wbs__err e = {0};
	int rc = -1;

	if (wbs__store_key_count(s, &nkeys, &e)) {
		snprintf(err, errlen, "cannot read api keys: %s", e.msg);
		goto done;
	}
	if (wbs__settings_path(path, sizeof(path))) {
		if (nkeys) {
			rc = 0; /* nowhere to update; keys exist, so the server is usable */
			goto done;
		}
		snprintf(err, errlen, "no settings directory: set WB_CONFIG_DIR, XDG_CONFIG_HOME or HOME");
		goto done;
	}
	if (nkeys == 0) {
		char prefix[WBS__KEY_PREFIX_LEN + 1];
		if (wbs__key_generate(key)) {
			snprintf(err, errlen, "no randomness for a key: %s", strerror(errno));
			goto done;
		}
		wbs__key_hash(key, WBS__KEY_LEN, hash);
		memcpy(prefix, key, WBS__KEY_PREFIX_LEN);
		prefix[WBS__KEY_PREFIX_LEN] = '\0';
		if (wbs__settings_write(path, base_url, key, "admin", err, errlen))
			goto done;
		if (wbs__store_key_add(s, "admin", hash, prefix, &e) || wbs__store_user_set_admin(s, "admin", &e)) {
			snprintf(err, errlen, "cannot store the admin key: %s", e.msg);
			goto done;
		}
		{
			char msg[4200];
			snprintf(msg, sizeof(msg), "admin api key written to %s", path);
			wbs__log(WBS__LOG_INFO, msg, NULL);
		}
		rc = 0;
		goto done;
	}
	rc = 0;
	if (wbs__settings_read_key(path, key, sizeof(key)))
		goto done;
	wbs__key_hash(key, strlen(key), hash);
	if (wbs__store_key_user(s, hash, &uid, &e) != WBS__ST_OK)
		goto done; /* someone else's key: leave the file alone */
	if (wbs__settings_write(path, base_url, NULL, NULL, err, errlen)) {
		char q[600], qe[600];
		wbs__log(WBS__LOG_WARN, "cannot update the settings file", "path=%s error=%s",
			 wbs__log_quote(q, sizeof(q), path), wbs__log_quote(qe, sizeof(qe), err));
		err[0] = '\0';
		goto done;
	}
	{
		char q[600];
		wbs__log(WBS__LOG_INFO, "settings base_url updated", "path=%s", wbs__log_quote(q, sizeof(q), path));
	}
done:
	memset(key, 0, sizeof(key));
	if (rc == 0)
		admin_setup_link(s, base_url);
	return rc;
}
