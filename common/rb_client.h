/*  rb_client: the C client library for a node's local API.
 *
 *  What the command-line tool, the benchmarks and integrators' C code use
 *  to talk to their own node. A client is one DEALER connected to the
 *  node's API endpoint; requests may be pipelined (send several, then
 *  receive), and replies are matched by request_id. For a tcp:// API the
 *  client presents a CURVE certificate the node has on its allowlist.
 *
 *  Calls are made either with a whole ApiRequest (rb_client_call) or with
 *  just the call's own message (rb_client_invoke), which is what most code
 *  wants: fill an EnrolRequest, invoke, read reply->enrol.
 *
 *  A call that times out has an unknown outcome: retry it with the same
 *  idempotency keys, which makes the retry safe.
 */
#ifndef RB_CLIENT_H
#define RB_CLIENT_H

#include "rb_wire.h"

typedef struct _rb_client_t rb_client_t;

//  Connect to endpoint. For tcp://, server_key is the node's public key
//  (Z85) and cert the client's certificate (borrowed); both NULL for ipc://.
rb_client_t *rb_client_new (const char *endpoint, const char *server_key, zcert_t *cert);

//  Disconnect, destroy and null the caller's pointer.
void rb_client_destroy (rb_client_t **self_p);

//  Send a request; sets version, and request_id when it is 0. Returns the
//  request_id used, 0 if it could not be sent.
uint64_t rb_client_send (rb_client_t *self, Regiebus__ApiRequest *request);

//  Receive the next reply within timeout_ms; NULL on timeout or garbage.
//  Free with rb_wire_free.
Regiebus__ApiReply *rb_client_recv (rb_client_t *self, int timeout_ms);

//  Send and wait for the reply with the same request_id (or an error reply
//  with request_id 0: the node could not decode the request); NULL on timeout.
Regiebus__ApiReply *rb_client_call (rb_client_t *self, Regiebus__ApiRequest *request, int timeout_ms);

//  Make one call without building the ApiRequest: msg is the request
//  message of the call that call names (REGIEBUS__API_REQUEST__CALL_ENROL
//  with a Regiebus__EnrolRequest, ...), borrowed. Waits like
//  rb_client_call. An OK reply always carries the result of the same call
//  (the reply's result numbers equal the request's call numbers); one that
//  does not is dropped as garbage. NULL on timeout, on garbage, and when
//  msg is not the message that call takes.
Regiebus__ApiReply *rb_client_invoke (rb_client_t *self, Regiebus__ApiRequest__CallCase call,
                                      const ProtobufCMessage *msg, int timeout_ms);

#endif
