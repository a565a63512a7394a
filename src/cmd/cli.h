/* cli.h - the copy command line: Hadoop DistCp's options plus ours.
 *
 * Behaviour contract: spec/distcp.md Part A 1-3, Part B §1 and §12.
 * Pure: no file system access, no global state; safe to call from any thread
 * with distinct arguments. */
#ifndef DISTCP_CLI_H
#define DISTCP_CLI_H
#include <stddef.h>
#include <stdio.h>

#include "engine/options.h"

enum cli_status { CLI_OK = 0, CLI_HELP = 1, CLI_VERSION = 2, CLI_ERROR = 3 };

/* Parse the copy command line: args = argv[1..] (argc excludes the program name).
 * Fills *o (initialised by the caller with options_init). Returns CLI_OK, CLI_HELP (-h/--help),
 * CLI_VERSION (--version), or CLI_ERROR with Hadoop's message in err (without the
 * "Invalid arguments: " prefix; the caller prints "Invalid arguments: <err>" then the usage and
 * exits 255). Deprecation warnings ("filelimit is a deprecated option. Ignoring.") are written to
 * `warn` (may be NULL).
 *
 * No arguments at all gives CLI_ERROR with err "" (Hadoop prints only the usage).
 * Whatever the result, *o may hold heap strings: the caller always calls
 * options_release(o). argv is borrowed (never modified); every string stored
 * in *o is a trimmed heap copy. err may be NULL when errlen is 0.
 * Validation covers rules 1-17 of spec B §1.3 in order; rule 18 (-blocksperchunk
 * needs a target store that can concat) is the engine's. */
int cli_parse(int argc, char **argv, struct options *o, char *err, size_t errlen, FILE *warn);

/* The usage text: "usage: distcp OPTIONS [source_path...] <target_path>", every option with a
 * one-line description (Hadoop's and ours), and the exit statuses table. */
void cli_usage(FILE *out);

#endif
