/* main.c - process entry: hands argv to the command table (cmd/) and exits
 * with the status it returns. The only place besides cmd/ that exits. */
#include "cmd/cmd.h"

int main(int argc, char **argv)
{
    return cmd_main(argc, argv);
}
