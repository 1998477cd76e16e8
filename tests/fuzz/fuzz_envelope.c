/*  fuzz_envelope: an envelope's bytes, decoded and checked, then received.
 *
 *  The input is a serialized Envelope. It goes through rb_wire's decoder
 *  and field checks as they are, then as the one entry of a Batch from
 *  school-a (with the seq the municipality expects next) through the
 *  inbox's checks (origin is the peer, destination is this node, the seq
 *  matches) into the municipality's handler.
 */
#include "fuzz_node.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    rb_node_t *node = fuzz_node ("municipality");
    Regiebus__Envelope *e = rb_wire_envelope_decode (data, size);
    rb_refusal_t why = { 0 };
    if (e)
        rb_wire_envelope_check (e, "envelopes[0]", 65536, &why);
    rb_wire_free (&e);
    fuzz_batch (node, FUZZ_SCHOOL, data, size);
    return 0;
}
