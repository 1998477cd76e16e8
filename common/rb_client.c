/*  rb_client: DEALER-based API client; see rb_client.h. */
#include "rb_client.h"

struct _rb_client_t {
    zsock_t *dealer;        //  connected to the node's API
    uint64_t next_id;       //  next request_id to hand out
};

rb_client_t *
rb_client_new (const char *endpoint, const char *server_key, zcert_t *cert)
{
    rb_client_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->next_id = 1;
    self->dealer = zsock_new (ZMQ_DEALER);
    if (self->dealer) {
        zsock_set_linger (self->dealer, 0);
        zsock_set_sndhwm (self->dealer, 100000);
        zsock_set_rcvhwm (self->dealer, 100000);
        if (server_key && cert) {
            zcert_apply (cert, self->dealer);
            zsock_set_curve_serverkey (self->dealer, server_key);
        }
    }
    if (!self->dealer || zsock_connect (self->dealer, "%s", endpoint))
        rb_client_destroy (&self);
    return self;
}

void
rb_client_destroy (rb_client_t **self_p)
{
    if (self_p && *self_p) {
        zsock_destroy (&(*self_p)->dealer);
        free (*self_p);
        *self_p = NULL;
    }
}

uint64_t
rb_client_send (rb_client_t *self, Regiebus__ApiRequest *request)
{
    request->version = RB_WIRE_VERSION;
    if (!request->request_id)
        request->request_id = self->next_id++;
    zframe_t *frame = rb_wire_frame (&request->base);
    if (!frame || zframe_send (&frame, self->dealer, 0)) {
        zframe_destroy (&frame);
        return 0;
    }
    return request->request_id;
}

Regiebus__ApiReply *
rb_client_recv (rb_client_t *self, int timeout_ms)
{
    zsock_set_rcvtimeo (self->dealer, timeout_ms);
    zframe_t *frame = zframe_recv (self->dealer);
    if (!frame)
        return NULL;
    Regiebus__ApiReply *reply = regiebus__api_reply__unpack (NULL, zframe_size (frame), zframe_data (frame));
    zframe_destroy (&frame);
    return reply;
}

Regiebus__ApiReply *
rb_client_call (rb_client_t *self, Regiebus__ApiRequest *request, int timeout_ms)
{
    uint64_t id = rb_client_send (self, request);
    int64_t deadline = zclock_mono () + timeout_ms;
    while (id) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            break;
        Regiebus__ApiReply *reply = rb_client_recv (self, (int) left);
        //  Id 0: the node could not read the request, so this is our answer.
        if (!reply || reply->request_id == id || (reply->request_id == 0 && reply->code))
            return reply;
        rb_wire_free (&reply);      //  a late reply to an earlier call
    }
    return NULL;
}

Regiebus__ApiReply *
rb_client_invoke (rb_client_t *self, Regiebus__ApiRequest__CallCase call,
                  const ProtobufCMessage *msg, int timeout_ms)
{
    //  The calls are the members of one oneof: they share one pointer in
    //  the request, which the descriptor of the call's field locates.
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field (&regiebus__api_request__descriptor, (unsigned) call);
    if (!field || !msg || field->type != PROTOBUF_C_TYPE_MESSAGE || field->descriptor != msg->descriptor)
        return NULL;
    Regiebus__ApiRequest request = REGIEBUS__API_REQUEST__INIT;
    request.call_case = call;
    memcpy ((char *) &request + field->offset, &msg, sizeof msg);
    Regiebus__ApiReply *reply = rb_client_call (self, &request, timeout_ms);
    if (reply && reply->code == REGIEBUS__ERROR_CODE__OK && (int) reply->result_case != (int) call)
        rb_wire_free (&reply);
    return reply;
}
