/*  fuzz_api: ApiRequest bytes into a daemon's node, as a client's frame.
 *
 *  Built once per role (FUZZ_ROLE): the runtime's decode and dispatch,
 *  its own calls (submit, status, list_received, advance_clock,
 *  list_notifications, ack_notification) and the daemon's call handler,
 *  each in its child transaction, on a node that holds the region's story
 *  (fuzz_node.h). Every request must be answered exactly once with an
 *  ApiReply that decodes.
 */
#include "fuzz_node.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_api (fuzz_node (FUZZ_ROLE), data, size);
    return 0;
}
