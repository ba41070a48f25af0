/* sha256.c — see sha256.h. */
#include "util/sha256.h"

#include <string.h>

#include <openssl/evp.h>

void wbs__sha256_digest_hex(const unsigned char md[32], char out[65])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

void wbs__sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 32;

	EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL);
	wbs__sha256_digest_hex(md, out);
}

/* The state is OpenSSL's digest context itself. */
wbs__sha256 *wbs__sha256_begin(void)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		c = NULL;
	}
	return (wbs__sha256 *)c;
}

void wbs__sha256_update(wbs__sha256 *h, const void *p, size_t n)
{
	EVP_DigestUpdate((EVP_MD_CTX *)h, p, n);
}

void wbs__sha256_end(wbs__sha256 *h, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 32;

	if (!h)
		return;
	EVP_DigestFinal_ex((EVP_MD_CTX *)h, md, &mdlen);
	EVP_MD_CTX_free((EVP_MD_CTX *)h);
	wbs__sha256_digest_hex(md, out);
}

int wbs__sha256_hex_valid(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}
