/*
 * cmd.h — subcommands of the wb executable other than `wb server`
 * (config.h). Each takes the arguments after its name and returns the
 * process exit code.
 */
#ifndef WB_SERVER_CMD_H
#define WB_SERVER_CMD_H

int wbs__cmd_sync(int argc, char **argv);

#endif /* WB_SERVER_CMD_H */
