/*  bench_child: the nodes a benchmark runs as child processes; see
 *  bench_child.h.
 */
#include "bench_child.h"
#include <arpa/inet.h>
#include <czmq.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

extern char **environ;

int
bench_free_ports (int *ports, int count)
{
    int fds [16], rc = count <= 16? 0: -1;
    for (int i = 0; i < 16; i++)
        fds [i] = -1;
    for (int i = 0; i < count && !rc; i++) {
        struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0 };
        addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        //  Each socket stays open until all are bound: no port twice.
        fds [i] = socket (AF_INET, SOCK_STREAM, 0);
        ports [i] = 0;
        if (fds [i] >= 0 && bind (fds [i], (struct sockaddr *) &addr, sizeof addr) == 0
        &&  getsockname (fds [i], (struct sockaddr *) &addr, &len) == 0)
            ports [i] = ntohs (addr.sin_port);
        if (!ports [i])
            rc = -1;
    }
    for (int i = 0; i < 16; i++)
        if (fds [i] >= 0)
            close (fds [i]);
    return rc;
}

int
bench_config_write (const char *path, const char *dir, const char *name, const char *role,
                    int port, const char *api, const bench_peer_t *peers, int peer_count,
                    const char *sections)
{
    FILE *file = fopen (path, "w");
    if (!file)
        return -1;
    fprintf (file,
             "#   %s of a regiebus-bench run\n"
             "node\n"
             "    name = %s\n"
             "    role = %s\n"
             "    data_dir = %s/%s\n"
             "    bind = tcp://127.0.0.1:%d\n"
             "    cert = %s/keys/%s.cert\n"
             "    map_size_mb = 4096\n"
             "    log_level = warn\n"
             "api\n"
             "    endpoint = %s\n",
             name, name, role, dir, name, port, dir, name, api);
    if (peer_count)
        fprintf (file, "peer\n");
    for (int i = 0; i < peer_count; i++)
        fprintf (file,
                 "    %s\n"
                 "        endpoint = tcp://127.0.0.1:%d\n"
                 "        public_key = \"%s\"\n"
                 "        role = %s\n",
                 peers [i].name, peers [i].port, peers [i].public_key, peers [i].role);
    if (sections)
        fputs (sections, file);
    return fclose (file)? -1: 0;
}

int
bench_child_start (bench_child_t *self, const char *name, const char *const *args, int count,
                   const bench_opts_t *opts, const char *log)
{
    const char *argv [16 + 2 * BENCH_MAX_SETS + 1];
    int argc = 0;
    memset (self, 0, sizeof *self);
    snprintf (self->name, sizeof self->name, "%s", name);
    snprintf (self->log, sizeof self->log, "%s", log);
    for (int i = 0; i < count && i < 16; i++)
        argv [argc++] = args [i];
    for (int i = 0; i < opts->set_count; i++) {
        argv [argc++] = "--set";
        argv [argc++] = opts->sets [i];
    }
    argv [argc] = NULL;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_addopen (&actions, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2 (&actions, 2, 1);
    int rc = posix_spawn (&self->pid, args [0], &actions, NULL, (char **) argv, environ);
    posix_spawn_file_actions_destroy (&actions);
    if (rc) {
        fprintf (stderr, "bench: cannot start %s (%s): %s\n", name, args [0], strerror (rc));
        self->pid = 0;
        return -1;
    }
    return 0;
}

bool
bench_child_alive (bench_child_t *self)
{
    int status;
    if (!self->pid)
        return false;
    if (waitpid (self->pid, &status, WNOHANG) != self->pid)
        return true;
    self->pid = 0;
    fprintf (stderr, "bench: %s ended (%s %d); see %s\n", self->name,
             WIFSIGNALED (status)? "signal": "exit code",
             WIFSIGNALED (status)? WTERMSIG (status): WEXITSTATUS (status), self->log);
    return false;
}

void
bench_child_term (bench_child_t *self)
{
    if (self->pid)
        kill (self->pid, SIGTERM);
}

int
bench_child_wait (bench_child_t *self, int timeout_ms)
{
    if (!self->pid)
        return 0;
    int rc = 0, status = 0;
    pid_t done = 0;
    struct rusage usage;
    memset (&usage, 0, sizeof usage);
    //  Bounded: timeout_ms in steps of 10 ms, then one blocking reap of
    //  a process that SIGKILL ends.
    for (int i = 0; i < timeout_ms / 10 && done == 0; i++) {
        done = wait4 (self->pid, &status, WNOHANG, &usage);
        if (done == 0)
            zclock_sleep (10);
    }
    if (done == 0) {
        fprintf (stderr, "bench: %s did not stop within %d ms; killing it\n", self->name, timeout_ms);
        kill (self->pid, SIGKILL);
        wait4 (self->pid, &status, 0, &usage);
        rc = -1;
    }
    else
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
        fprintf (stderr, "bench: %s ended badly (status %d); see %s\n", self->name, status, self->log);
        rc = -1;
    }
    self->sys = (double) usage.ru_stime.tv_sec + (double) usage.ru_stime.tv_usec / 1e6;
    self->cpu = self->sys + (double) usage.ru_utime.tv_sec + (double) usage.ru_utime.tv_usec / 1e6;
    self->pid = 0;
    return rc;
}

bool
bench_peers_up (rb_client_t *client, size_t peers)
{
    Regiebus__StatusRequest status = REGIEBUS__STATUS_REQUEST__INIT;
    Regiebus__ApiReply *reply = rb_client_invoke (client, REGIEBUS__API_REQUEST__CALL_STATUS,
                                                  &status.base, 500);
    bool up = reply && reply->code == REGIEBUS__ERROR_CODE__OK && reply->status->n_peers >= peers;
    for (size_t i = 0; up && i < reply->status->n_peers; i++)
        up = reply->status->peers [i]->up;
    rb_wire_free (&reply);
    return up;
}
