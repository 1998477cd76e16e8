/*  rb_cli: what the commands of the regiebus tool share.
 *
 *  The tool runs one command per invocation. main.c reads the options that
 *  name the node (--api, -c, --cert, --server-key), finds the command in
 *  its table, checks the command's own options against the list the table
 *  gives (an unknown option or a missing value is a usage error), connects
 *  and runs the command. A command reads its options with the readers
 *  below, builds one request of agency.proto or regiebus.proto, makes the
 *  call (rb_cli_call) and prints the reply in plain words, or as JSON with
 *  --json (rb_cli_json).
 *
 *  Usage errors are sticky: a reader that finds a missing or badly formed
 *  option prints one line naming it and marks the invocation bad, so a
 *  command reads all it needs first and then checks rb_cli_bad once.
 *
 *  Exit codes, the same for every command: 0 done, 1 the node refused
 *  (one line on stderr with the code's name, the field and the node's
 *  message), 2 usage, 3 the node could not be reached or did not answer.
 *
 *  Files: main.c (table, connection, runtime commands), rb_cli.c (option
 *  readers, the call, JSON), agency.c (the agency daemons' calls),
 *  render.c (notifications in plain words, acknowledging them), keys.c
 *  (a node's keys: show a certificate, the keys in use, reload), plan.c
 *  (a case's plans), audit.c (verifying and listing the audit chain, also
 *  offline from a store).
 */
#ifndef RB_CLI_H
#define RB_CLI_H

#include "rb_client.h"

#define RB_CLI_EXIT_OK 0
#define RB_CLI_EXIT_REFUSED 1
#define RB_CLI_EXIT_USAGE 2
#define RB_CLI_EXIT_NO_ANSWER 3

#define RB_CLI_TIMEOUT_MS 10000     //  longest wait for one reply
#define RB_CLI_OPTIONS_MAX 48       //  most options one invocation carries (32 milestones and more)
#define RB_CLI_WORDS_MAX 4          //  most positional words after the command

typedef struct _rb_cli_t rb_cli_t;
typedef int (rb_cli_fn) (rb_cli_t *cli);

//  One command of the tool, as main.c's table lists it.
typedef struct {
    const char *name;           //  "enrol", or two words: "parent link"
    rb_cli_fn *fn;              //  runs it; returns the exit code
    bool offline;               //  needs no node (keys)
    int words;                  //  positional words it takes after its name
    const char *options;        //  "--id= --json": '=' marks an option with a value
    const char *synopsis;       //  its arguments, for usage lines
    const char *summary;        //  one line for --help
} rb_cli_command_t;

struct _rb_cli_t {
    const rb_cli_command_t *command;    //  what runs
    rb_client_t *client;                //  connected to the node; NULL when offline
    const char *word [RB_CLI_WORDS_MAX];    //  positional words, in order
    int word_count;
    const char *name [RB_CLI_OPTIONS_MAX];  //  options given, "--case"
    const char *value [RB_CLI_OPTIONS_MAX]; //  their values; NULL for a flag
    int option_count;
    bool bad;                           //  a usage error was printed
    char refused [96];                  //  field of the node's last refusal, "" when none
};

// ---------------------------------------------------------------------------
//  Reading the command line

//  Split argv (what follows the command's name) into words and options
//  checked against command->options. False after printing why.
bool rb_cli_parse (rb_cli_t *self, const rb_cli_command_t *command, int argc, char **argv);

//  Print the command's usage line; returns RB_CLI_EXIT_USAGE.
int rb_cli_usage (rb_cli_t *self);

//  A usage error: print "regiebus COMMAND: ..." and mark the invocation
//  bad. Returns false, so that readers can `return rb_cli_error (...)`.
bool rb_cli_error (rb_cli_t *self, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

//  True when a usage error was printed.
bool rb_cli_bad (rb_cli_t *self);

//  The value of option name, or NULL when it is not given. With required,
//  a missing option is a usage error.
const char *rb_cli_text (rb_cli_t *self, const char *name, bool required);

//  The value of an optional text option for a request's string field:
//  "" when it is not given (protobuf-c strings are never NULL).
char *rb_cli_field (rb_cli_t *self, const char *name);

//  True when the flag (an option without value) is given.
bool rb_cli_flag (rb_cli_t *self, const char *name);

//  Positional word index (from 0), named what in messages; a missing one
//  is a usage error (and gives "").
const char *rb_cli_word (rb_cli_t *self, int index, const char *what);

//  A date option as YYYYMMDD (20261123 or 2026-11-23 on the command line);
//  0 when absent. Whether it is a real date is the node's to say.
int32_t rb_cli_date (rb_cli_t *self, const char *name, bool required);

//  Parse text as a date like rb_cli_date; false (no message) when badly formed.
bool rb_cli_date_parse (const char *text, int32_t *date);

//  An unsigned number option up to max; fallback when absent.
uint64_t rb_cli_number (rb_cli_t *self, const char *name, uint64_t max, uint64_t fallback);

//  Parse text as a decimal number up to max; false (no message) otherwise.
bool rb_cli_number_parse (const char *text, uint64_t max, uint64_t *value);

//  The command-line words for the codes of an enum, as a table ending in
//  { NULL, 0 }: "sick" for SICK, "no-place" for NO_PLACE.
typedef struct {
    const char *word;
    int value;
} rb_cli_word_t;

extern const rb_cli_word_t rb_cli_reasons [];       //  AbsenceReason
extern const rb_cli_word_t rb_cli_roles [];         //  Role
extern const rb_cli_word_t rb_cli_report_kinds [];  //  ParentReportKind

//  An option whose value is a word of table; fallback when absent. A word
//  not in the table is a usage error that lists the table's words.
int rb_cli_choice (rb_cli_t *self, const char *name, const rb_cli_word_t *table,
                   bool required, int fallback);

//  The value of word in table; false when it is not there.
bool rb_cli_word_value (const rb_cli_word_t *table, const char *word, int *value);

//  The word of value in table, or NULL.
const char *rb_cli_word_of (const rb_cli_word_t *table, int value);

// ---------------------------------------------------------------------------
//  Talking to the node and printing

//  Make call with msg (its request message) and wait for the reply. On OK
//  *reply_p is the reply (free with rb_wire_free) and RB_CLI_EXIT_OK is
//  returned; a refusal is printed on one line with its code's name, field
//  and message (RB_CLI_EXIT_REFUSED), its field kept in self->refused; no
//  answer is RB_CLI_EXIT_NO_ANSWER.
int rb_cli_call (rb_cli_t *self, Regiebus__ApiRequest__CallCase call, const ProtobufCMessage *msg,
                 Regiebus__ApiReply **reply_p);

//  What a command prints of an OK reply in plain words (arg is the
//  command's own); returns the exit code, RB_CLI_EXIT_OK as a rule.
typedef int (rb_cli_print_fn) (const Regiebus__ApiReply *reply, void *arg);

//  Make the call (as rb_cli_call) and print an OK reply: with --json its
//  result message as JSON, otherwise through print. Returns the exit code.
int rb_cli_run (rb_cli_t *self, Regiebus__ApiRequest__CallCase call, const ProtobufCMessage *msg,
                rb_cli_print_fn *print, void *arg);

//  True when --json was asked for; then rb_cli_json prints the reply.
bool rb_cli_json_wanted (rb_cli_t *self);

//  Print any message as one JSON object and a newline: every field by its
//  proto name, defaults included; enums as their names, bytes as hex,
//  64-bit numbers as plain numbers.
void rb_cli_json (FILE *out, const ProtobufCMessage *msg);

//  The same object without the newline, to nest it in other JSON.
void rb_cli_json_object (FILE *out, const ProtobufCMessage *msg);

//  Print a string as a JSON string (quoted and escaped).
void rb_cli_json_string (FILE *out, const char *text);

//  A YYYYMMDD date as "2026-11-23" (size >= 11); "?" when not a date.
const char *rb_cli_date_text (int32_t date, char *out, size_t size);

//  An instant as local time "2026-11-23 09:14:02" (size >= 20); "-" for 0.
const char *rb_cli_time_text (int64_t ms, char *out, size_t size);

//  The name an enum descriptor gives value ("SCHOOL_MENTOR"), or "?".
const char *rb_cli_enum_name (const ProtobufCEnumDescriptor *descriptor, int value);

//  A 16-byte id as a canonical UUID (size >= 37); "-" when not 16 bytes.
const char *rb_cli_uuid_text (ProtobufCBinaryData id, char *out, size_t size);

// ---------------------------------------------------------------------------
//  The commands (main.c, agency.c, render.c)

rb_cli_fn rb_cli_keys_make, rb_cli_keys_region, rb_cli_status, rb_cli_submit,
          rb_cli_received, rb_cli_clock_advance;
rb_cli_fn rb_cli_enrol, rb_cli_unenrol, rb_cli_attendance, rb_cli_close_day, rb_cli_involve,
          rb_cli_parent_link, rb_cli_parent_report, rb_cli_case, rb_cli_regie,
          rb_cli_consent, rb_cli_consent_show;
rb_cli_fn rb_cli_notifications, rb_cli_ack;
rb_cli_fn rb_cli_keys_show, rb_cli_keys_status, rb_cli_reload;
rb_cli_fn rb_cli_plan_register, rb_cli_plan_complete, rb_cli_plan_revise, rb_cli_plan_review,
          rb_cli_plan_close, rb_cli_plan_show;
rb_cli_fn rb_cli_audit_verify, rb_cli_audit_list;

#endif
