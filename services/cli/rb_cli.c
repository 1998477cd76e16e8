/*  rb_cli: option readers, the call and JSON for the regiebus tool.
 *
 *  See rb_cli.h. The JSON printer walks any message by its protobuf-c
 *  descriptor, so every reply of the API prints the same way without a
 *  printer of its own; the plain-words printers live with their commands.
 */
#include "rb_cli.h"
#include <ctype.h>
#include <stdarg.h>
#include <time.h>

// ---------------------------------------------------------------------------
//  The command line

//  "--id= --json": is name listed, and does it take a value?
static bool
s_option_known (const char *options, const char *name, bool *takes_value)
{
    size_t length = strlen (name);
    for (const char *at = options; (at = strstr (at, name)); at += length) {
        bool starts = at == options || at [-1] == ' ';
        char after = at [length];
        if (starts && (after == ' ' || after == '=' || after == '\0')) {
            *takes_value = after == '=';
            return true;
        }
    }
    return false;
}

bool
rb_cli_parse (rb_cli_t *self, const rb_cli_command_t *command, int argc, char **argv)
{
    self->command = command;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv [i];
        bool takes_value = false;
        if (strncmp (arg, "--", 2) != 0) {
            if (self->word_count == command->words)
                return rb_cli_error (self, "unexpected argument '%s'", arg);
            self->word [self->word_count++] = arg;
        }
        else
        if (!s_option_known (command->options, arg, &takes_value))
            return rb_cli_error (self, "unknown option %s", arg);
        else
        if (self->option_count == RB_CLI_OPTIONS_MAX)
            return rb_cli_error (self, "too many options");
        else
        if (takes_value && i + 1 == argc)
            return rb_cli_error (self, "%s needs a value", arg);
        else {
            self->name [self->option_count] = arg;
            self->value [self->option_count++] = takes_value? argv [++i]: NULL;
        }
    }
    return true;
}

int
rb_cli_usage (rb_cli_t *self)
{
    fprintf (stderr, "usage: regiebus [--api ENDPOINT | -c CONFIG] %s %s\n",
             self->command->name, self->command->synopsis);
    return RB_CLI_EXIT_USAGE;
}

bool
rb_cli_error (rb_cli_t *self, const char *format, ...)
{
    if (!self->bad) {
        fprintf (stderr, "regiebus %s: ", self->command? self->command->name: "");
        va_list args;
        va_start (args, format);
        vfprintf (stderr, format, args);
        va_end (args);
        fprintf (stderr, "\n");
    }
    self->bad = true;
    return false;
}

bool
rb_cli_bad (rb_cli_t *self)
{
    return self->bad;
}

const char *
rb_cli_text (rb_cli_t *self, const char *name, bool required)
{
    for (int i = self->option_count - 1; i >= 0; i--)
        if (streq (self->name [i], name))
            return self->value [i];
    if (required)
        rb_cli_error (self, "%s is required", name);
    return NULL;
}

char *
rb_cli_field (rb_cli_t *self, const char *name)
{
    const char *text = rb_cli_text (self, name, false);
    return (char *) (text? text: "");
}

bool
rb_cli_flag (rb_cli_t *self, const char *name)
{
    for (int i = 0; i < self->option_count; i++)
        if (streq (self->name [i], name))
            return true;
    return false;
}

const char *
rb_cli_word (rb_cli_t *self, int index, const char *what)
{
    if (index < self->word_count)
        return self->word [index];
    rb_cli_error (self, "%s is required", what);
    return "";
}

bool
rb_cli_date_parse (const char *text, int32_t *date)
{
    char digits [9];
    size_t n = 0;
    for (size_t i = 0; text [i]; i++) {
        bool dash = text [i] == '-' && (i == 4 || i == 7) && strlen (text) == 10;
        if (dash)
            continue;
        if (!isdigit ((unsigned char) text [i]) || n == 8)
            return false;
        digits [n++] = text [i];
    }
    digits [n] = '\0';
    if (n != 8)
        return false;
    *date = (int32_t) atol (digits);
    return true;
}

int32_t
rb_cli_date (rb_cli_t *self, const char *name, bool required)
{
    const char *text = rb_cli_text (self, name, required);
    int32_t date = 0;
    if (text && !rb_cli_date_parse (text, &date))
        rb_cli_error (self, "%s '%s' is not a date: write YYYYMMDD or YYYY-MM-DD", name, text);
    return date;
}

bool
rb_cli_number_parse (const char *text, uint64_t max, uint64_t *value)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull (text, &end, 10);
    if (!isdigit ((unsigned char) *text) || *end || errno || v > max)
        return false;
    *value = v;
    return true;
}

uint64_t
rb_cli_number (rb_cli_t *self, const char *name, uint64_t max, uint64_t fallback)
{
    const char *text = rb_cli_text (self, name, false);
    uint64_t value = fallback;
    if (text && !rb_cli_number_parse (text, max, &value))
        rb_cli_error (self, "%s '%s' must be a number from 0 to %llu", name, text, (unsigned long long) max);
    return value;
}

const rb_cli_word_t rb_cli_reasons [] = {
    { "sick", REGIEBUS__ABSENCE_REASON__SICK },
    { "unexcused", REGIEBUS__ABSENCE_REASON__UNEXCUSED },
    { "excused", REGIEBUS__ABSENCE_REASON__EXCUSED_OTHER },
    { "late", REGIEBUS__ABSENCE_REASON__LATE },
    { "suspended", REGIEBUS__ABSENCE_REASON__SUSPENDED },
    { "no-place", REGIEBUS__ABSENCE_REASON__NO_PLACE },
    { NULL, 0 }
};

const rb_cli_word_t rb_cli_roles [] = {
    { "school-mentor", REGIEBUS__ROLE__SCHOOL_MENTOR },
    { "parent", REGIEBUS__ROLE__PARENT },
    { "leerplicht", REGIEBUS__ROLE__LEERPLICHT },
    { "casusregisseur", REGIEBUS__ROLE__CASUSREGISSEUR },
    { "jeugdhulp", REGIEBUS__ROLE__JEUGDHULP },
    { "wijkteam", REGIEBUS__ROLE__WIJKTEAM },
    { "samenwerkingsverband", REGIEBUS__ROLE__SAMENWERKINGSVERBAND },
    { "duty-desk", REGIEBUS__ROLE__DUTY_DESK },
    { "doorbraakteam", REGIEBUS__ROLE__DOORBRAAKTEAM },
    { NULL, 0 }
};

const rb_cli_word_t rb_cli_report_kinds [] = {
    { "sickness", REGIEBUS__PARENT_REPORT_KIND__PARENT_SICKNESS },
    { "home-signal", REGIEBUS__PARENT_REPORT_KIND__PARENT_HOME_SIGNAL },
    { NULL, 0 }
};

int
rb_cli_choice (rb_cli_t *self, const char *name, const rb_cli_word_t *table, bool required, int fallback)
{
    const char *text = rb_cli_text (self, name, required);
    int value = fallback;
    if (!text || rb_cli_word_value (table, text, &value))
        return value;
    char words [256] = "";
    for (const rb_cli_word_t *w = table; w->word; w++)
        snprintf (words + strlen (words), sizeof words - strlen (words), "%s%s", w == table? "": "|", w->word);
    rb_cli_error (self, "%s '%s' must be one of %s", name, text, words);
    return fallback;
}

bool
rb_cli_word_value (const rb_cli_word_t *table, const char *word, int *value)
{
    for (const rb_cli_word_t *w = table; w->word; w++)
        if (streq (w->word, word)) {
            *value = w->value;
            return true;
        }
    return false;
}

const char *
rb_cli_word_of (const rb_cli_word_t *table, int value)
{
    for (const rb_cli_word_t *w = table; w->word; w++)
        if (w->value == value)
            return w->word;
    return NULL;
}

// ---------------------------------------------------------------------------
//  The call

int
rb_cli_call (rb_cli_t *self, Regiebus__ApiRequest__CallCase call, const ProtobufCMessage *msg,
             Regiebus__ApiReply **reply_p)
{
    *reply_p = NULL;
    Regiebus__ApiReply *reply = rb_client_invoke (self->client, call, msg, RB_CLI_TIMEOUT_MS);
    if (!reply) {
        fprintf (stderr, "regiebus %s: the node did not answer within %d ms\n",
                 self->command->name, RB_CLI_TIMEOUT_MS);
        return RB_CLI_EXIT_NO_ANSWER;
    }
    if (reply->code != REGIEBUS__ERROR_CODE__OK) {
        fprintf (stderr, "regiebus %s: refused: %s field=%s: %s\n", self->command->name,
                 rb_cli_enum_name (&regiebus__error_code__descriptor, reply->code),
                 *reply->field? reply->field: "-", reply->message);
        snprintf (self->refused, sizeof self->refused, "%s", reply->field);
        rb_wire_free (&reply);
        return RB_CLI_EXIT_REFUSED;
    }
    *reply_p = reply;
    return RB_CLI_EXIT_OK;
}

int
rb_cli_run (rb_cli_t *self, Regiebus__ApiRequest__CallCase call, const ProtobufCMessage *msg,
            rb_cli_print_fn *print, void *arg)
{
    Regiebus__ApiReply *reply;
    int rc = rb_cli_call (self, call, msg, &reply);
    if (rc == RB_CLI_EXIT_OK && rb_cli_json_wanted (self)) {
        //  The result is the reply's field numbered like the call.
        const ProtobufCFieldDescriptor *field =
            protobuf_c_message_descriptor_get_field (&regiebus__api_reply__descriptor, reply->result_case);
        rb_cli_json (stdout, *(ProtobufCMessage * const *) ((const char *) reply + field->offset));
    }
    else
    if (rc == RB_CLI_EXIT_OK)
        rc = print (reply, arg);
    rb_wire_free (&reply);
    return rc;
}

bool
rb_cli_json_wanted (rb_cli_t *self)
{
    return rb_cli_flag (self, "--json");
}

// ---------------------------------------------------------------------------
//  JSON

void
rb_cli_json_string (FILE *out, const char *text)
{
    fputc ('"', out);
    for (const unsigned char *c = (const unsigned char *) text; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf (out, "\\%c", *c);
        else
        if (*c < 0x20)
            fprintf (out, "\\u%04x", *c);
        else
            fputc (*c, out);
    }
    fputc ('"', out);
}

//  One value of a field, member pointing at it inside the message.
static void
s_json_value (FILE *out, const ProtobufCFieldDescriptor *f, const void *member)
{
    switch (f->type) {
        case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
            fprintf (out, "%d", *(const int32_t *) member); break;
        case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
            fprintf (out, "%u", *(const uint32_t *) member); break;
        case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
            fprintf (out, "%lld", (long long) *(const int64_t *) member); break;
        case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
            fprintf (out, "%llu", (unsigned long long) *(const uint64_t *) member); break;
        case PROTOBUF_C_TYPE_FLOAT:
            fprintf (out, "%g", (double) *(const float *) member); break;
        case PROTOBUF_C_TYPE_DOUBLE:
            fprintf (out, "%g", *(const double *) member); break;
        case PROTOBUF_C_TYPE_BOOL:
            fprintf (out, "%s", *(const protobuf_c_boolean *) member? "true": "false"); break;
        case PROTOBUF_C_TYPE_ENUM:
            rb_cli_json_string (out, rb_cli_enum_name (f->descriptor, *(const int *) member)); break;
        case PROTOBUF_C_TYPE_STRING: {
            const char *text = *(char * const *) member;
            rb_cli_json_string (out, text? text: "");
            break;
        }
        case PROTOBUF_C_TYPE_BYTES: {
            const ProtobufCBinaryData *data = member;
            fputc ('"', out);
            for (size_t i = 0; i < data->len; i++)
                fprintf (out, "%02x", data->data [i]);
            fputc ('"', out);
            break;
        }
        case PROTOBUF_C_TYPE_MESSAGE: {
            const ProtobufCMessage *sub = *(ProtobufCMessage * const *) member;
            if (sub)
                rb_cli_json_object (out, sub);
            else
                fprintf (out, "null");
            break;
        }
    }
}

//  Bytes each element of a repeated field takes in its array.
static size_t
s_element_size (const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
        case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: return 8;
        case PROTOBUF_C_TYPE_DOUBLE: return sizeof (double);
        case PROTOBUF_C_TYPE_BOOL: return sizeof (protobuf_c_boolean);
        case PROTOBUF_C_TYPE_ENUM: return sizeof (int);
        case PROTOBUF_C_TYPE_STRING: return sizeof (char *);
        case PROTOBUF_C_TYPE_BYTES: return sizeof (ProtobufCBinaryData);
        case PROTOBUF_C_TYPE_MESSAGE: return sizeof (ProtobufCMessage *);
        default: return 4;
    }
}

void
rb_cli_json_object (FILE *out, const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    const char *base = (const char *) msg;
    bool first = true;
    fputc ('{', out);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields [i];
        //  Of a oneof, only the member that is set.
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        &&  *(const uint32_t *) (base + f->quantifier_offset) != f->id)
            continue;
        fprintf (out, "%s\"%s\":", first? "": ",", f->name);
        first = false;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t count = *(const size_t *) (base + f->quantifier_offset);
            const char *array = *(char * const *) (base + f->offset);
            fputc ('[', out);
            for (size_t k = 0; k < count; k++) {
                if (k)
                    fputc (',', out);
                s_json_value (out, f, array + k * s_element_size (f));
            }
            fputc (']', out);
        }
        else
            s_json_value (out, f, base + f->offset);
    }
    fputc ('}', out);
}

void
rb_cli_json (FILE *out, const ProtobufCMessage *msg)
{
    rb_cli_json_object (out, msg);
    fputc ('\n', out);
}

// ---------------------------------------------------------------------------
//  Plain words

const char *
rb_cli_date_text (int32_t date, char *out, size_t size)
{
    if (date < 10000101 || date > 99991231)
        snprintf (out, size, "?");
    else
        snprintf (out, size, "%04d-%02d-%02d", date / 10000, date / 100 % 100, date % 100);
    return out;
}

const char *
rb_cli_time_text (int64_t ms, char *out, size_t size)
{
    if (ms == 0) {
        snprintf (out, size, "-");
        return out;
    }
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;
    if (!localtime_r (&secs, &tm) || !strftime (out, size, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf (out, size, "?");
    return out;
}

const char *
rb_cli_enum_name (const ProtobufCEnumDescriptor *descriptor, int value)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value (descriptor, value);
    return v? v->name: "?";
}

const char *
rb_cli_uuid_text (ProtobufCBinaryData id, char *out, size_t size)
{
    if (id.len != 16) {
        snprintf (out, size, "-");
        return out;
    }
    zuuid_t *uuid = zuuid_new_from (id.data);
    snprintf (out, size, "%s", uuid? zuuid_str_canonical (uuid): "-");
    zuuid_destroy (&uuid);
    return out;
}
