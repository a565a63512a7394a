/* cmd.h - the command table: `distcp [OPTIONS] <source>... <target>` and,
 * as later issues add them, subcommands. Only cmd/ and main.c exit. */
#ifndef DISTCP_CMD_H
#define DISTCP_CMD_H

/* Run the command line; returns the process exit status. */
int cmd_main(int argc, char **argv);

struct options;
/* jobcmd.c: `distcp submit ...` / `-async` (o parsed; argv = the copy
 * arguments as given), and `distcp job <command> ...` (argv after "job"). */
int cmd_submit(struct options *o, int argc, char **argv);
int cmd_job(int argc, char **argv);
/* The copy arguments as a JSON array, secrets redacted (malloc'ed). */
char *cmd_argv_json(int argc, char **argv);
/* `distcp checksum [OPTIONS] <path>...` (cmd_checksum.c): argv/argc after
 * the word "checksum". Returns the exit status. */
int cmd_checksum(int argc, char **argv);

#endif
