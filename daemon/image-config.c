/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An image's config as the spec's defaults (docs/images.md#config): what the spec says wins. */

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

#include "image.h"
#include "log.h"
#include "util.h"

#define IMAGE_PASSWD_MAX (1U << 20)

/* A JSON array of strings → strv (NULL if it is not one; the empty strv for []). */
static int json_strv(json_t *a, size_t max, const char *what, char ***ret, char **reterr) {
        _cleanup_strv_free_ char **l = NULL;
        json_t *e;
        size_t i;

        *ret = NULL;
        if (!json_is_array(a))
                return 0;
        if (json_array_size(a) > max)
                return set_error_message(reterr, -E2BIG, "The image's %s has more than %zu entries.", what,
                                         max);
        l = calloc(json_array_size(a) + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        json_array_foreach (a, i, e) {
                if (!json_is_string(e) || json_string_length(e) >= SPEC_MAX_STRING ||
                    strlen(json_string_value(e)) != json_string_length(e))
                        return set_error_message(reterr, -EINVAL,
                                                 "The image's %s[%zu] is not a usable string.", what, i);
                l[i] = strdup(json_string_value(e));
                if (!l[i])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 1;
}

static int strv_append_all(char ***l, char **add) {
        for (size_t i = 0; add && add[i]; i++)
                if (strv_extend(l, add[i]) < 0)
                        return -ENOMEM;
        return 0;
}

static int apply_command(WorkloadSpec *s, json_t *cfg, const char *ref, char **reterr) {
        _cleanup_strv_free_ char **ep = NULL, **cmd = NULL, **args = NULL;
        int r;

        /* Docker's rules: an entrypoint given replaces the image's and drops its Cmd; args given
         * replace Cmd. */
        if (s->entrypoint_set)
                ep = strv_copy(s->entrypoint ?: (char *[]){ NULL });
        else {
                r = json_strv(json_object_get(cfg, "Entrypoint"), SPEC_MAX_ARGS, "Entrypoint", &ep, reterr);
                if (r < 0)
                        return r;
        }
        if (s->args && s->args[0])
                cmd = strv_copy(s->args);
        else if (!s->entrypoint_set) {
                r = json_strv(json_object_get(cfg, "Cmd"), SPEC_MAX_ARGS, "Cmd", &cmd, reterr);
                if (r < 0)
                        return r;
        }
        args = calloc(1, sizeof(char *));
        if (!args || strv_append_all(&args, ep) < 0 || strv_append_all(&args, cmd) < 0)
                return -ENOMEM;
        if (!args[0] || !args[0][0])
                return set_error_message(reterr, -EINVAL,
                                         "No command: %s '%s' has no Entrypoint or Cmd; give one "
                                         "(process.args).",
                                         s->image ? "image" : "rootfs", ref);
        if (strv_length(args) > SPEC_MAX_ARGS)
                return set_error_message(reterr, -E2BIG, "The command has more than %u arguments.",
                                         SPEC_MAX_ARGS);
        strv_free(s->args);
        s->args = TAKE_PTR(args);
        s->entrypoint = strv_free(s->entrypoint);
        s->entrypoint_set = false;
        return 0;
}

static bool env_has(char **env, const char *kv) {
        size_t k = strcspn(kv, "=");

        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], kv, k) == 0 && env[i][k] == '=')
                        return true;
        return false;
}

static int apply_env(WorkloadSpec *s, json_t *cfg, char **reterr) {
        _cleanup_strv_free_ char **img = NULL, **env = NULL;
        int r;

        r = json_strv(json_object_get(cfg, "Env"), SPEC_MAX_ENV, "Env", &img, reterr);
        if (r <= 0)
                return r;
        env = calloc(1, sizeof(char *));
        if (!env)
                return -ENOMEM;
        for (size_t i = 0; img[i]; i++) {
                const char *eq = strchr(img[i], '=');

                if (!eq || eq == img[i] || env_has(s->env, img[i]) || env_has(env, img[i]))
                        continue;
                if (strv_extend(&env, img[i]) < 0)
                        return -ENOMEM;
        }
        if (strv_append_all(&env, s->env) < 0)
                return -ENOMEM;
        if (strv_length(env) > SPEC_MAX_ENV)
                return set_error_message(reterr, -E2BIG, "The environment has more than %u entries.",
                                         SPEC_MAX_ENV);
        strv_free(s->env);
        s->env = TAKE_PTR(env);
        return 0;
}

static int apply_labels(WorkloadSpec *s, json_t *cfg) {
        json_t *labels = json_object_get(cfg, "Labels"), *v;
        const char *k;

        if (!json_is_object(labels))
                return 0;
        json_object_foreach (labels, k, v) {
                bool have = false;
                SpecLabel *n;

                /* Only what a spec's label could be; the spec's own win. */
                if (!json_is_string(v) || json_string_length(v) > 256 || !identifier_is_valid(k) ||
                    s->n_labels >= SPEC_MAX_LABELS)
                        continue;
                for (size_t i = 0; i < s->n_labels && !have; i++)
                        have = streq(s->labels[i].key, k);
                if (have)
                        continue;
                n = realloc(s->labels, (s->n_labels + 1) * sizeof(SpecLabel));
                if (!n)
                        return -ENOMEM;
                s->labels = n;
                n[s->n_labels] = (SpecLabel){ strdup(k), strdup(json_string_value(v)) };
                if (!n[s->n_labels].key || !n[s->n_labels].value) {
                        free(n[s->n_labels].key);
                        free(n[s->n_labels].value);
                        return -ENOMEM;
                }
                s->n_labels++;
        }
        return 0;
}

/* PATH (relative, e.g. "etc/passwd") as the merged image shows it: the topmost layer that has it,
 * unless a whiteout or an opaque directory on the way hides it. Resolved inside each layer. */
static int image_read_file(Manager *m, const Image *img, const char *path, char **ret, size_t *ret_size) {
        for (size_t i = img->n_layers; i-- > 0;) {
                _cleanup_close_ int root = -EBADF, fd = -EBADF;
                char rel[96], dir[256], opq[2];
                struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                                        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
                struct stat st;

                (void) snprintf(rel, sizeof rel, "layers/%s/diff", img->layers[i].chain_id + 7);
                root = openat(m->store_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (root < 0)
                        return -errno;
                fd = (int) syscall(SYS_openat2, root, path, &how, sizeof how);
                if (fd >= 0) {
                        if (fstat(fd, &st) < 0)
                                return -errno;
                        if (S_ISCHR(st.st_mode))
                                return -ENOENT; /* a whiteout */
                        if (!S_ISREG(st.st_mode))
                                return -ENOENT;
                        return read_full_fd(fd, IMAGE_PASSWD_MAX, ret, ret_size);
                }
                if (errno != ENOENT)
                        return -errno;
                /* Not here: an opaque parent directory hides the lower layers' copy. */
                (void) snprintf(dir, sizeof dir, "%s", path);
                char *slash = strrchr(dir, '/');
                if (slash) {
                        *slash = 0;
                        _cleanup_close_ int dfd = (int) syscall(
                                SYS_openat2, root, dir,
                                &(struct open_how){ .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                                                    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS },
                                sizeof(struct open_how));
                        if (dfd >= 0 && fgetxattr(dfd, "trusted.overlay.opaque", opq, sizeof opq) == 1 &&
                            opq[0] == 'y')
                                return -ENOENT;
                }
        }
        return -ENOENT;
}

/* In /etc/passwd (field 0 name, 2 uid, 3 gid) or /etc/group (0 name, 2 gid): the line whose field
 * `key_field` equals key. */
static int db_lookup(const char *text, const char *key, unsigned key_field, unsigned want, uint32_t *ret) {
        const char *line = text;

        while (line && *line) {
                const char *end = strchrnul(line, '\n');
                char buf[1024], *fields[8] = {}, *save = NULL, *f;
                unsigned n = 0;
                size_t len = (size_t) (end - line);

                if (len < sizeof buf) {
                        memcpy(buf, line, len);
                        buf[len] = 0;
                        /* strsep keeps empty fields (a password field may be empty). */
                        char *p = buf;
                        while (n < 8 && (f = strsep(&p, ":")))
                                fields[n++] = f;
                        (void) save;
                        if (n > MAX(key_field, want) && streq(fields[key_field], key))
                                return safe_atou32(fields[want], ret);
                }
                line = *end ? end + 1 : NULL;
        }
        return -ESRCH;
}

static bool all_digits(const char *s) {
        return s[0] && strspn(s, "0123456789") == strlen(s);
}

static int apply_user(Manager *m, WorkloadSpec *s, const Image *img, const char *user, char **reterr) {
        _cleanup_free_ char *u = strdup(user), *passwd = NULL, *group = NULL;
        char *g;
        uint32_t uid = 0, gid = 0;
        size_t size;
        bool have_passwd;
        int r;

        if (!u)
                return -ENOMEM;
        g = strchr(u, ':');
        if (g)
                *g++ = 0;
        have_passwd = image_read_file(m, img, "etc/passwd", &passwd, &size) >= 0;
        if (all_digits(u))
                r = safe_atou32(u, &uid);
        else
                r = have_passwd ? db_lookup(passwd, u, 0, 2, &uid) : -ESRCH;
        if (r < 0 || uid >= 65535)
                return set_error_message(reterr, -EINVAL,
                                         "The image's User '%s': no user '%s' in its /etc/passwd.", user, u);
        if (g && all_digits(g))
                r = safe_atou32(g, &gid);
        else if (g) {
                r = image_read_file(m, img, "etc/group", &group, &size);
                if (r >= 0)
                        r = db_lookup(group, g, 0, 2, &gid);
        } else {
                /* The user's primary group, 0 for a UID the image does not list. */
                char key[16];
                (void) snprintf(key, sizeof key, "%u", uid);
                r = have_passwd ? db_lookup(passwd, key, 2, 3, &gid) : -ESRCH;
                if (r < 0) {
                        gid = 0;
                        r = 0;
                }
        }
        if (r < 0 || gid >= 65535)
                return set_error_message(reterr, -EINVAL,
                                         "The image's User '%s': no group '%s' in its /etc/group.", user,
                                         strna(g));
        s->uid = uid;
        s->gid = gid;
        s->user_set = true;
        return 0;
}

int image_apply(Manager *m, WorkloadSpec *s, char **reterr) {
        Image *img;
        json_t *cfg;
        const char *wd, *user;
        int r;

        if (!s->image) /* a rootfs directory: no config, but process.entrypoint still counts */
                return apply_command(s, NULL, s->rootfs, reterr);
        img = image_find(m, s->image);
        if (!img) {
                _cleanup_free_ char *name = NULL;
                const char *colon = strchr(s->image, ':');

                /* Built in (busybox): no config; "busybox:latest" is the same image. */
                if ((!colon || streq(colon, ":latest")) && image_builtin(m, s->image, &name)) {
                        free(s->image);
                        s->image = TAKE_PTR(name);
                        return apply_command(s, NULL, s->image, reterr);
                }
                return set_error_message(
                        reterr, -ENXIO,
                        "image '%s' not found: neither in the store (isoctl image list) nor "
                        "built in.",
                        s->image);
        }
        /* The name it goes by (the ID if it was asked by one), and its ID for the policy. */
        if (!startswith(s->image, "sha256:")) {
                _cleanup_free_ char *norm = image_ref_normalize(s->image);

                if (!norm)
                        return -ENOMEM;
                if (strv_contains(img->names, norm)) {
                        free(s->image);
                        s->image = TAKE_PTR(norm);
                } else {
                        free(s->image);
                        s->image = strdup(img->id);
                        if (!s->image)
                                return -ENOMEM;
                }
        }
        free(s->image_id);
        s->image_id = strdup(img->id);
        if (!s->image_id)
                return -ENOMEM;

        cfg = json_object_get(img->config, "config");
        r = apply_command(s, cfg, s->image, reterr);
        if (r < 0)
                return r;
        r = apply_env(s, cfg, reterr);
        if (r < 0)
                return r;
        wd = json_string_value(json_object_get(cfg, "WorkingDir"));
        if (!s->cwd && wd && wd[0]) {
                if (!path_is_safe_absolute(wd))
                        return set_error_message(
                                reterr, -EINVAL,
                                "The image's WorkingDir '%s' is not an absolute path without "
                                "'..'.",
                                wd);
                s->cwd = strdup(wd);
                if (!s->cwd)
                        return -ENOMEM;
        }
        user = json_string_value(json_object_get(cfg, "User"));
        if (!s->user_set && user && user[0]) {
                r = apply_user(m, s, img, user, reterr);
                if (r < 0)
                        return r;
        }
        return apply_labels(s, cfg);
}
