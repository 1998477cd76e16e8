#!/usr/bin/python3
"""Every input limit of a region's daemons is refused with TOO_LARGE and the
field at fault, nothing of it is applied, and every node keeps serving.

A region of real daemons with small regional limits (frames of 64 KiB,
batches of 20, payloads of 8 KiB): mun-a (municipality), school-a, care-a
and portal-a. This script also plays two peers over CURVE with their own
certificates: school-b, a school of mun-a, and mun-x, a municipality of
school-a. Checks, each limit once (proto/README.md, "Limits"):
  - on the link at mun-a: a frame over max_frame_bytes, a batch over
    max_batch_events, an envelope's payload over max_payload_bytes, and a
    payload text over its limit (an Enrolment's contact) are refused with a
    Refusal naming the field; a refused envelope is a dead letter, the
    stream moves on and the next good envelope is applied;
  - on the link at school-a: a Notification with a text over 128 bytes or
    more than 32 co-recipients is a dead letter; a good one is listed;
  - on every API: too many events, pupils or records; a request frame over
    max_frame_bytes; idempotency keys, local ids, accounts and
    acknowledging names over their limits; names, contacts and labels over
    128 or 64 bytes; list limits; too many plan milestones. Each is counted
    in api_refused_too_large and emits nothing;
  - afterwards each node answers status, school-a enrols a pupil whose
    ENROLMENT reaches mun-a, and nothing refused shows anywhere.
"""
import rbtest
from rbtest import check, check_eq, log, peer

MAX_FRAME = 65536
MAX_BATCH = 20
MAX_PAYLOAD = 8192
LIMITS = dict(limits__max_frame_bytes=MAX_FRAME, limits__max_batch_events=MAX_BATCH,
              limits__max_payload_bytes=MAX_PAYLOAD)
BSN_1, BSN_2 = "111222333", "123456782"
TEXT = "t" * 129                # one byte over every name and contact
ID = "i" * 65                   # one character over every id


def region(env):
    key_path, key = rbtest.region_key(env)
    region_keys = dict(region__key_file=key_path, homes__0363="mun-a")
    mun = env.node("mun-a", daemon="municipality", **LIMITS)
    school = env.node("school-a", daemon="school", school__location="12AB00",
                      school__close_day_at="never", **region_keys, **LIMITS)
    care = env.node("care-a", daemon="care", care__municipality="mun-a", **region_keys, **LIMITS)
    portal = env.node("portal-a", daemon="portal", portal__municipality="mun-a", **region_keys, **LIMITS)
    for n in (school, care, portal):
        n.add_peer(mun)
        mun.add_peer(n)
    #  The peers this script plays: nothing listens at their endpoints.
    mun.add_peer("school-b", "tcp://127.0.0.1:%d" % rbtest.free_port(), env.key("school-b"), "school")
    school.add_peer("mun-x", "tcp://127.0.0.1:%d" % rbtest.free_port(), env.key("mun-x"), "municipality")
    for n in (mun, school, care, portal):
        n.start()
    return key, mun, school, care, portal


def enrolment(pb, seq, case, contact="desk", payload=None):
    e = rbtest.envelope(pb, "school-b", "mun-a", seq, case=case)
    e.kind = pb.ENROLMENT
    e.payload = payload if payload is not None else pb.Enrolment(
        school_location="99ZZ00", enrolled_on=20260831, contact=contact).SerializeToString()
    return e


def played_peer(env, name, node):
    """A DEALER playing peer name of node, once node has answered its Ping."""
    sock = env.curve_dealer(name, node)
    sock.send(rbtest.ping_frame(env.pb))
    rbtest.expect_ack(env.pb, sock, 0, timeout=10)
    return sock


def link_at_municipality(env, key, mun):
    pb = env.pb
    case = rbtest.pseudonym(key, BSN_2)
    b = played_peer(env, "school-b", mun)
    before = rbtest.counter(mun.status(), "link_refused_too_large")

    log("link at mun-a: a frame over max_frame_bytes")
    big = rbtest.batch_frame(pb, 1, [enrolment(pb, 1, case, payload=b"p" * MAX_FRAME)])
    b.send(big)
    rbtest.expect_refusal(pb, b, pb.TOO_LARGE, "frame")

    log("link at mun-a: a batch over max_batch_events")
    b.send(rbtest.batch_frame(pb, 1, [enrolment(pb, 1 + i, case) for i in range(MAX_BATCH + 1)]))
    rbtest.expect_refusal(pb, b, pb.TOO_LARGE, "batch.envelopes")
    check_eq(peer(mun.status(), "school-b").received_seq, 0, "mun-a's stream from school-b after both")

    log("link at mun-a: a payload over max_payload_bytes, then a contact over 128 bytes")
    b.send(rbtest.batch_frame(pb, 1, [enrolment(pb, 1, case, payload=b"p" * (MAX_PAYLOAD + 1))]))
    r, frames = rbtest.expect_refusal(pb, b, pb.TOO_LARGE, "envelopes[0].payload", 1)
    rbtest.expect_ack(pb, b, 1, frames=frames)
    b.send(rbtest.batch_frame(pb, 2, [enrolment(pb, 2, case, contact=TEXT)]))
    r, frames = rbtest.expect_refusal(pb, b, pb.TOO_LARGE, "payload.contact", 2)
    rbtest.expect_ack(pb, b, 2, frames=frames)
    reply = mun.api.call(show_case=pb.ShowCaseRequest(case_pseudonym=case))
    check_eq(rbtest.errname(pb, reply.code), "NOT_FOUND", "the case after the refused enrolments")

    log("link at mun-a: the next good envelope is applied")
    b.send(rbtest.batch_frame(pb, 3, [enrolment(pb, 3, case)]))
    rbtest.expect_ack(pb, b, 3)
    reply = rbtest.check_ok(pb, mun.api.call(show_case=pb.ShowCaseRequest(case_pseudonym=case)), "show_case")
    check([h.actor.node for h in reply.show_case.holders] == ["school-b"],
          "holders after the good enrolment: %s" % reply.show_case.holders)
    check_eq(rbtest.counter(mun.status(), "link_refused_too_large") - before, 4, "mun-a's link_refused_too_large")
    b.close()


def notification(pb, case, seq, **fields):
    n = rbtest.notification(pb, "school-a", pb.SCHOOL_MENTOR, from_node="mun-x", subject=pb.REGIE_CHANGE,
                            **fields)
    e = rbtest.envelope(pb, "mun-x", "school-a", seq, case=case)
    e.kind = pb.NOTIFICATION
    e.payload = n.SerializeToString()
    return e


def link_at_school(env, key, school):
    pb = env.pb
    case = rbtest.pseudonym(key, BSN_2)
    x = played_peer(env, "mun-x", school)
    log("link at school-a: a notification with a contact over 128 bytes, one with 33 co-recipients")
    change = pb.RegieChange(actor=pb.Actor(node="care-a", role=pb.JEUGDHULP), joined=True, contact=TEXT)
    x.send(rbtest.batch_frame(pb, 1, [notification(pb, case, 1, regie_change=change)]))
    r, frames = rbtest.expect_refusal(pb, x, pb.TOO_LARGE, "regie_change.contact", 1)
    rbtest.expect_ack(pb, x, 1, frames=frames)
    crowd = [pb.Actor(node="n%d" % i, role=pb.JEUGDHULP) for i in range(33)]
    change.contact = "desk"
    x.send(rbtest.batch_frame(pb, 2, [notification(pb, case, 2, regie_change=change, also_sent_to=crowd)]))
    r, frames = rbtest.expect_refusal(pb, x, pb.TOO_LARGE, "also_sent_to", 2)
    rbtest.expect_ack(pb, x, 2, frames=frames)
    check_eq(len(rbtest.list_notifications(pb, school)), 0, "notifications at school-a after the refusals")
    log("link at school-a: a good notification is stored")
    x.send(rbtest.batch_frame(pb, 3, [notification(pb, case, 3, regie_change=change)]))
    rbtest.expect_ack(pb, x, 3)
    check_eq(len(rbtest.list_notifications(pb, school)), 1, "notifications at school-a")
    x.close()


def runtime_cases(pb, case):
    """The calls every node answers itself, with what each refuses."""
    event = dict(destination="mun-a", case_pseudonym=case, kind=pb.TEST, payload=b"x")
    return [
        ("events over max_batch_events", dict(submit=pb.SubmitRequest(events=[
            pb.Submission(idempotency_key="e-%d" % i, **event) for i in range(MAX_BATCH + 1)])),
         "TOO_LARGE", "events"),
        ("an idempotency key over 128 bytes", dict(submit=pb.SubmitRequest(events=[
            pb.Submission(idempotency_key="k" * 129, **event)])), "TOO_LARGE", "events[0].idempotency_key"),
        ("a payload over max_payload_bytes", dict(submit=pb.SubmitRequest(events=[pb.Submission(
            idempotency_key="p", destination="mun-a", case_pseudonym=case, kind=pb.TEST,
            payload=b"p" * (MAX_PAYLOAD + 1))])), "TOO_LARGE", "events[0].payload"),
        ("list_received.limit over 10000", dict(list_received=pb.ListReceivedRequest(limit=10001)),
         "TOO_LARGE", "list_received.limit"),
        ("list_notifications.limit over 1000", dict(list_notifications=pb.ListNotificationsRequest(
            limit=1001)), "TOO_LARGE", "list_notifications.limit"),
        ("list_notifications.account over 64", dict(list_notifications=pb.ListNotificationsRequest(
            account=ID)), "TOO_LARGE", "list_notifications.account"),
        ("ack_notification.by over 64", dict(ack_notification=pb.AckNotificationRequest(seq=1, by=ID)),
         "TOO_LARGE", "ack_notification.by"),
    ]


def pupil(pb, local_id, bsn, **fields):
    return pb.Pupil(local_id=local_id, citizen_number=bsn, birth_date=20150312, home_municipality="0363",
                    enrolled_on=20260831, **fields)


def school_cases(pb):
    record = dict(local_id="p1", date=20261116, minutes=60, reason=pb.UNEXCUSED)
    return [
        ("pupils over max_batch_events", dict(enrol=pb.EnrolRequest(pupils=[
            pupil(pb, "p%d" % i, BSN_1) for i in range(MAX_BATCH + 1)])), "TOO_LARGE", "pupils"),
        ("a local id over 64", dict(enrol=pb.EnrolRequest(pupils=[pupil(pb, ID, BSN_1)])),
         "TOO_LARGE", "pupils[0].local_id"),
        ("a display name over 128 bytes", dict(enrol=pb.EnrolRequest(pupils=[
            pupil(pb, "p1", BSN_1), pupil(pb, "p2", BSN_2, display_name=TEXT)])),
         "TOO_LARGE", "pupils[1].display_name"),
        ("records over max_batch_events", dict(record_attendance=pb.RecordAttendanceRequest(records=[
            pb.AttendanceRecord(idempotency_key="r-%d" % i, **record) for i in range(MAX_BATCH + 1)])),
         "TOO_LARGE", "records"),
        ("a record's key over 128 bytes", dict(record_attendance=pb.RecordAttendanceRequest(records=[
            pb.AttendanceRecord(idempotency_key="k" * 129, **record)])),
         "TOO_LARGE", "records[0].idempotency_key"),
        ("a record's local id over 64", dict(record_attendance=pb.RecordAttendanceRequest(records=[
            pb.AttendanceRecord(idempotency_key="r-0", local_id=ID, date=20261116, minutes=60,
                                reason=pb.UNEXCUSED)])), "TOO_LARGE", "records[0].local_id"),
        ("unenrol.local_id over 64", dict(unenrol=pb.UnenrolRequest(local_id=ID)),
         "TOO_LARGE", "unenrol.local_id"),
    ]


def oversized_request(pb, node):
    """A request over max_frame_bytes is refused before it is decoded, so
    its reply cannot echo the request's id."""
    req = node.api.request(enrol=pb.EnrolRequest(pupils=[pupil(pb, "p1", BSN_1, display_name="n" * MAX_FRAME)]))
    node.api.send(req)
    reply = node.api.recv(10)
    check(reply is not None, "no reply to a request of %d bytes" % req.ByteSize())
    check_eq((rbtest.errname(pb, reply.code), reply.field), ("TOO_LARGE", "request"),
             "the reply to a request of %d bytes" % req.ByteSize())


def agency_cases(pb, case):
    sick = dict(idempotency_key="rep-1", account="ouder-1", citizen_number=BSN_1,
                report=pb.PARENT_SICKNESS)
    mentor = pb.Actor(node="mun-a", role=pb.CASUSREGISSEUR)
    steps = [pb.PlanStep(label="m%d" % i, date=20301231) for i in range(33)]
    return {
        "care-a": [
            ("involvement.contact over 128 bytes", dict(involvement=pb.InvolvementRequest(
                citizen_number=BSN_1, role=pb.JEUGDHULP, involved=True, contact=TEXT)),
             "TOO_LARGE", "involvement.contact"),
            ("involvement.local_name over 128 bytes", dict(involvement=pb.InvolvementRequest(
                citizen_number=BSN_1, role=pb.JEUGDHULP, involved=True, local_name=TEXT)),
             "TOO_LARGE", "involvement.local_name"),
        ],
        "portal-a": [
            ("parent_link.account over 64", dict(parent_link=pb.ParentLinkRequest(
                account=ID, citizen_number=BSN_1, linked=True)), "TOO_LARGE", "parent_link.account"),
            ("parent_link.child_name over 128 bytes", dict(parent_link=pb.ParentLinkRequest(
                account="ouder-1", citizen_number=BSN_1, linked=True, child_name=TEXT)),
             "TOO_LARGE", "parent_link.child_name"),
            ("parent_report.idempotency_key over 128 bytes", dict(parent_report=pb.ParentReportRequest(
                **dict(sick, idempotency_key="k" * 129))), "TOO_LARGE", "parent_report.idempotency_key"),
            ("parent_report.account over 64", dict(parent_report=pb.ParentReportRequest(
                **dict(sick, account=ID))), "TOO_LARGE", "parent_report.account"),
        ],
        "mun-a": [
            ("regie.contact over 128 bytes", dict(regie=pb.RegieRequest(
                case_pseudonym=case, actor=mentor, joined=True, contact=TEXT)), "TOO_LARGE", "regie.contact"),
            ("more than 32 milestones", dict(plan_command=pb.PlanCommandRequest(
                case_pseudonym=case, command=pb.PlanCommand(actor=mentor, register=pb.PlanRegistration(
                    type=pb.PLAN_ACTION, owner=mentor, review_interval_days=14, milestones=steps)))),
             "TOO_LARGE", "command.register.milestones"),
            ("a milestone label over 64 bytes", dict(plan_command=pb.PlanCommandRequest(
                case_pseudonym=case, command=pb.PlanCommand(actor=mentor, register=pb.PlanRegistration(
                    type=pb.PLAN_ACTION, owner=mentor, review_interval_days=14,
                    milestones=[pb.PlanStep(label="l" * 65, date=20301231)])))),
             "TOO_LARGE", "command.register.milestones[0].label"),
        ],
    }


def main(env):
    pb = env.pb
    key, mun, school, care, portal = region(env)
    case = rbtest.pseudonym(key, BSN_2)
    link_at_municipality(env, key, mun)
    link_at_school(env, key, school)

    for node, cases in [(school, runtime_cases(pb, case) + school_cases(pb)),
                        (care, runtime_cases(pb, case)), (portal, runtime_cases(pb, case)),
                        (mun, [c for c in runtime_cases(pb, case) if "submit" not in c[1]])]:
        log("API of %s: %d limits" % (node.name, len(cases)))
        rbtest.check_refusals(pb, node, cases)
    log("API of school-a: a request over max_frame_bytes")
    oversized_request(pb, school)
    #  Staff make mun-a case director on the case, so its plan commands
    #  get past who may act to their size.
    rbtest.check_ok(pb, mun.api.call(regie=pb.RegieRequest(case_pseudonym=case, actor=pb.Actor(
        node="mun-a", role=pb.CASUSREGISSEUR), joined=True, contact="regie desk")), "regie")
    by_name = {"care-a": care, "portal-a": portal, "mun-a": mun}
    for name, cases in agency_cases(pb, case).items():
        log("API of %s: its own calls' limits" % name)
        rbtest.check_refusals(pb, by_name[name], cases)

    log("every node keeps serving: school-a enrols a pupil, mun-a opens the case")
    reply = rbtest.check_ok(pb, school.api.call(enrol=pb.EnrolRequest(pupils=[pupil(pb, "p1", BSN_1)])),
                            "enrol")
    case_1 = reply.enrol.results[0].case_pseudonym

    def opened():
        r = mun.api.call(show_case=pb.ShowCaseRequest(case_pseudonym=case_1))
        return r if r.code == 0 else None
    reply = rbtest.wait_until(opened, 20, "the case of p1 at mun-a")
    check([h.actor.node for h in reply.show_case.holders] == ["school-a"],
          "holders of p1's case: %s" % reply.show_case.holders)
    for n in (mun, school, care, portal):
        st = n.status()
        check(n.running(), "%s is running" % n.name)
        check_eq(rbtest.counter(st, "api_accepted"), 0, "%s's accepted submissions" % n.name)
    log("all limits refused with their fields; the region kept serving")


if __name__ == "__main__":
    rbtest.run("limits", main)
