/*
 * cmd.h — subcommands of the wb executable other than `wb server`
 * (config.h). Each takes the arguments after its name and returns the
 * process exit code. The client commands live in cli/ (they talk to a
 * server over HTTP); cmd_backup.c sits beside cmd_server.c (they open the
 * store themselves).
 */
#ifndef WB_SERVER_CMD_H
#define WB_SERVER_CMD_H

int wbs__cmd_sync(int argc, char **argv);
/* cmd_backup.c */
int wbs__cmd_backup(int argc, char **argv);
int wbs__cmd_restore_backup(int argc, char **argv);
int wbs__cmd_vacuum(int argc, char **argv);
int wbs__cmd_restore(int argc, char **argv);
/* cmd_tensorboard.c: wb tensorboard import LOGDIR */
int wbs__cmd_tensorboard(int argc, char **argv);
/* cmd_export.c, cmd_import.c: portable archives through the API */
int wbs__cmd_export(int argc, char **argv);
int wbs__cmd_import(int argc, char **argv);
/* cmd_login.c */
int wbs__cmd_login(int argc, char **argv);
/* cmd_artifact.c */
int wbs__cmd_artifact(int argc, char **argv);
/* cmd_sweep.c: wb sweep create|show|pause|resume|stop|cancel */
int wbs__cmd_sweep(int argc, char **argv);
/* cmd_agent.c: wb agent ENTITY/PROJECT/SWEEP, runs a sweep's trials */
int wbs__cmd_agent(int argc, char **argv);

#endif /* WB_SERVER_CMD_H */
