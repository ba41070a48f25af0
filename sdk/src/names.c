/*
 * names.c — run ids and default run names.
 *
 * A run id is the key of a run everywhere (URL, run directory, database),
 * so it must not collide across machines that never talk to each other:
 * 8 base36 characters from the kernel's CSPRNG give 36^8 ~ 2.8e12 ids, and
 * the base36 digits are drawn by rejection sampling so each is uniform.
 * The default run name is for people ("brave-otter-7"), not for
 * uniqueness; the server keys runs by id.
 */
#include "names.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static const char *const adjectives[] = {
	"amber",   "ancient", "autumn",  "bold",    "brave",   "bright",  "calm",    "clever",
	"cosmic",  "crimson", "curious", "dapper",  "daring",  "dazzling", "eager",  "electric",
	"fancy",   "fearless", "gentle", "glad",    "golden",  "graceful", "happy",  "hidden",
	"honest",  "humble",  "icy",     "jolly",   "keen",    "kind",    "lively",  "lucky",
	"mellow",  "misty",   "noble",   "polished", "proud",  "quiet",   "rapid",   "royal",
	"rustic",  "serene",  "shiny",   "silent",  "silver",  "smooth",  "solar",   "spry",
	"stellar", "stoic",   "sunny",   "swift",   "tidy",    "trusty",  "upbeat",  "vivid",
	"warm",    "wild",    "wise",    "witty",   "young",   "zany",    "zealous", "zesty",
};

static const char *const nouns[] = {
	"aardvark", "badger", "bison",   "breeze",  "brook",   "cedar",   "comet",   "coyote",
	"crane",    "dawn",   "dolphin", "dune",    "eagle",   "ember",   "falcon",  "fern",
	"firefly",  "fjord",  "fox",     "galaxy",  "gecko",   "glacier", "grove",   "harbor",
	"hawk",     "heron",  "ibis",    "island",  "jaguar",  "koala",   "lagoon",  "lark",
	"lemur",    "lynx",   "maple",   "meadow",  "meteor",  "moon",    "moose",   "nebula",
	"newt",     "oasis",  "orca",    "otter",   "owl",     "panda",   "pine",    "planet",
	"puffin",   "quasar", "raven",   "reef",    "river",   "salmon",  "sparrow", "star",
	"thunder",  "tiger",  "tundra",  "valley",  "violet",  "walrus",  "willow",  "wolf",
};

void wb__random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(p + got, n - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got < n) {
		/* No kernel randomness (seccomp, very old kernel): a splitmix64
		 * stream seeded from the clock, pid and a stack address is
		 * enough for ids that only need to differ. */
		struct timespec ts;
		uint64_t x;

		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40) ^
		    (uint64_t)(uintptr_t)&x;
		for (; got < n; got++) {
			uint64_t z = (x += 0x9e3779b97f4a7c15ull);
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
			z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
			p[got] = (unsigned char)(z ^ (z >> 31));
		}
	}
}

uint64_t wb__random_u64(void)
{
	uint64_t v;

	wb__random_bytes(&v, sizeof v);
	return v;
}

void wb__run_id_new(char out[WB__RUN_ID_LEN + 1])
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	unsigned char bytes[32];
	size_t i = 0, k = sizeof bytes;

	while (i < WB__RUN_ID_LEN) {
		if (k == sizeof bytes) {
			wb__random_bytes(bytes, sizeof bytes);
			k = 0;
		}
		/* 252 = 7 * 36: reject the top 4 values so every digit is uniform. */
		if (bytes[k] < 252)
			out[i++] = digits[bytes[k] % 36];
		k++;
	}
	out[WB__RUN_ID_LEN] = '\0';
}

void wb__run_name_new(char *out, size_t cap)
{
	uint64_t r = wb__random_u64();
	size_t na = sizeof adjectives / sizeof adjectives[0];
	size_t nn = sizeof nouns / sizeof nouns[0];

	snprintf(out, cap, "%s-%s-%u", adjectives[r % na], nouns[(r >> 16) % nn],
		 (unsigned)((r >> 32) % 99) + 1);
}
