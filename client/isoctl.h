/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <jansson.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "macro.h"

/* Exit codes scripts can rely on (docs/isoctl.md). launch/exec exit with the workload's own
 * status; when the workload could not be run they use podman's convention: */
#define EXIT_ISOCTL_ERROR 125  /* launch/exec failed before the program ran */
#define EXIT_CANNOT_INVOKE 126 /* the program exists but cannot be executed */
#define EXIT_NOT_FOUND 127     /* the program was not found */
#define EXIT_FAILURE_ 1        /* any other command failed */
#define EXIT_USAGE 2           /* bad command line */

extern bool arg_json;

int bus_connect(sd_bus **ret);
int workload_path(sd_bus *bus, const char *name, char **ret);
int print_bus_error(const sd_bus_error *e, int r, const char *what);
/* Reads an a{sv} into a JSON object: integers, reals, strings, booleans, string arrays. */
int bus_read_dict_json(sd_bus_message *m, json_t **ret);

/* isoctl-launch.c */
/* launch and create parse their command line before connecting (bus_connect()) themselves. */
int verb_launch(int argc, char *argv[], bool create_only);
int verb_exec(sd_bus *bus, int argc, char *argv[]);
int verb_logs(sd_bus *bus, int argc, char *argv[]);
int verb_events(int argc, char *argv[]);
int verb_top(sd_bus *bus, int argc, char *argv[]);
int verb_attach(sd_bus *bus, int argc, char *argv[]);
int verb_policy(sd_bus *bus, int argc, char *argv[]);
/* Builds a spec from launch options (shared by launch, create and policy explain). Returns the
 * index of the first command argument in *ret_optind. */
int parse_launch_options(int argc, char *argv[], json_t **ret_spec, bool *ret_detach, bool *ret_keep,
                         bool *ret_tty, int *ret_optind);
/* Sends `launch` (if not NULL) and right behind it `call` (Wait or Exec), and runs until the reply,
 * relaying a terminal when master >= 0 and forwarding INT/TERM/HUP/QUIT to the workload at
 * kill_path (if not NULL). Returns the status; a failed launch's errno goes to *reterr_launch. */
int run_until_reply(sd_bus *bus, sd_bus_message *launch, sd_bus_message *call, const char *name,
                    const char *kill_path, int master, int *reterr_launch);

/* isoctl-network.c: `network create|list|show|rm`; returns an exit code. Like launch, it checks
 * its command line before it connects. */
int verb_network(int argc, char *argv[]);

/* isoctl-image.c: `image import|build|list|show|rm`; checks its command line before it connects. */
int verb_image(int argc, char *argv[]);
/* isoctl-top.c: 1.5M, 230K */
void human_size(uint64_t v, char *buf, size_t size);

/* isoctl-tty.c */
#define FD_TO_PTR(fd) ((void *) (intptr_t) ((fd) + 1))
#define PTR_TO_FD(p) ((int) (intptr_t) (p) -1)
int tty_open_pair(int *ret_master, int *ret_slave);
int tty_attach(sd_event *event, int master);
void tty_raw_mode(void);
void tty_restore(void);
void tty_drain(int master);
