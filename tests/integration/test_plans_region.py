#!/usr/bin/python3
"""Plan commands from a school and a care provider, applied by the municipality.

The real daemons: regiebus-municipality mun-a, regiebus-school school-a
(location 12AB00) and regiebus-care care-a, all for municipality 0363.
Sanne is enrolled at school-a and care-a is involved as JEUGDHULP. Checks:
  - school-a's mentor registers a plan at its own node (plan_command): the
    school checks its shape, sends PLAN_COMMAND to mun-a and answers with
    the event id and mun-a; mun-a applies it and school-a and care-a get
    PLAN_REGISTERED (from school-a, owner care-a), named as each knows her;
  - care-a completes the milestone with `regiebus plan complete`: both
    hear of it; completing it again is refused at mun-a and comes back to
    care-a alone as PLAN_COMMAND_REFUSED (FAILED_PRECONDITION,
    complete.milestone), the plan unchanged (`regiebus plan show --json`);
  - refused at the school or care node itself, with code and field,
    counted, nothing sent: a case that is no pupil's of the school, an
    actor of another node, a milestone before today, no command, a
    provider not involved in the role it acts as.
"""

import json

import rbtest
from rbtest import check, check_eq, log, wait_until
from test_school import bsn, today, use_school_time_zone, ymd

import datetime


def main(env):
    use_school_time_zone()
    pb = env.pb
    key_path, key = rbtest.region_key(env)
    region = dict(region__key_file=key_path, homes__0363="mun-a")
    mun = env.node("mun-a", daemon="municipality")
    school = env.node("school-a", daemon="school", school__location="12AB00", school__close_day_at="never",
                      **region)
    care = env.node("care-a", daemon="care", care__municipality="mun-a", care__contact="jeugdhulp 020-5553000",
                    **region)
    for n in (school, care):
        n.add_peer(mun)
        mun.add_peer(n)
    for n in (mun, school, care):
        n.start()
    sanne = bsn(101)
    case = rbtest.pseudonym(key, sanne)
    d0 = today()
    rbtest.check_ok(pb, school.api.call(enrol=pb.EnrolRequest(pupils=[pb.Pupil(
        local_id="a-1", citizen_number=sanne, birth_date=20150312, home_municipality="0363",
        enrolled_on=ymd(d0), display_name="Sanne Jansen")])), "enrol")
    rbtest.check_ok(pb, care.api.call(involvement=pb.InvolvementRequest(
        citizen_number=sanne, role=pb.JEUGDHULP, involved=True, local_name="dossier J-17")), "involvement")
    wait_until(lambda: mun.api.call(show_case=pb.ShowCaseRequest(case_pseudonym=case)).code == 0 and
               len(mun.api.call(show_case=pb.ShowCaseRequest(case_pseudonym=case)).show_case.holders) == 2,
               20, "school-a and care-a hold Sanne's case")
    mentor = pb.Actor(node="school-a", role=pb.SCHOOL_MENTOR)
    jeugdhulp = pb.Actor(node="care-a", role=pb.JEUGDHULP)

    def plan_notices(node, kind):
        return [i for i in rbtest.list_notifications(pb, node, case_pseudonym=case, limit=1000)
                if i.notification.subject == pb.PLAN_CHANGE and i.notification.plan_change.change == kind]

    def wait_notice(node, kind, count, what):
        return wait_until(lambda: (lambda n: n if len(n) >= count else None)(plan_notices(node, kind)),
                          20, what)

    # -- A school registers a plan through its own node -------------------------------
    week = ymd(d0 + datetime.timedelta(days=7))
    reply = rbtest.check_ok(pb, school.api.call(plan_command=pb.PlanCommandRequest(
        case_pseudonym=case, command=pb.PlanCommand(actor=mentor, register=pb.PlanRegistration(
            type=pb.PLAN_CARE, owner=jeugdhulp, review_interval_days=14,
            milestones=[pb.PlanStep(label="care plan", date=week)])))), "plan_command at school-a")
    check_eq((reply.plan_command.municipality_node, len(reply.plan_command.event_id)), ("mun-a", 16),
             "the school's answer")
    at_school = wait_notice(school, pb.PLAN_REGISTERED, 1, "PLAN_REGISTERED at school-a")[0]
    at_care = wait_notice(care, pb.PLAN_REGISTERED, 1, "PLAN_REGISTERED at care-a")[0]
    check_eq((at_school.local_name, at_care.local_name), ("Sanne Jansen", "dossier J-17"), "names for the child")
    n = at_care.notification
    check_eq((n.from_node, n.plan_change.by, n.plan_change.owner, n.plan_change.plan.milestones[0].date),
             ("school-a", mentor, jeugdhulp, week), "the registration as care-a sees it")
    log("school-a registered a care plan at its own node; mun-a applied it; both holders told")

    # -- Care completes the milestone with the CLI, then again ------------------------------
    out = care.cli("plan", "complete", "--case", case, "--as", "jeugdhulp", "--plan", "1", "--milestone", "1")
    check("sent to mun-a" in out.stdout, "regiebus plan complete at care-a: %r" % out.stdout)
    for node in (school, care):
        wait_notice(node, pb.PLAN_MILESTONE_COMPLETED, 1, "PLAN_MILESTONE_COMPLETED at %s" % node.name)
    care.cli("plan", "complete", "--case", case, "--as", "jeugdhulp", "--plan", "1", "--milestone", "1")
    refused = wait_notice(care, pb.PLAN_COMMAND_REFUSED, 1, "PLAN_COMMAND_REFUSED at care-a")[0].notification
    check_eq((rbtest.errname(pb, refused.plan_change.refused_code), refused.plan_change.refused_field,
              [(a.node, a.role) for a in [refused.recipient]], len(refused.also_sent_to)),
             ("FAILED_PRECONDITION", "complete.milestone", [("care-a", pb.JEUGDHULP)], 0), "the refusal")
    words = care.cli("notifications", "--case", case).stdout
    check("Your plan command (plan 1) was refused by the municipality: FAILED_PRECONDITION on complete.milestone"
          in words, "the refusal in plain words at care-a:\n" + words)
    check_eq(plan_notices(school, pb.PLAN_COMMAND_REFUSED), [], "refusals at school-a")
    shown = json.loads(mun.cli("plan", "show", "--case", case, "--json").stdout)
    milestone = shown["plans"][0]["milestones"][0]
    check_eq((milestone["number"], milestone["completed_on"]), (1, ymd(d0)), "the plan at mun-a")
    log("care-a completed it by CLI; its repeat came back refused to care-a alone, nothing applied")

    # -- Refused at the school or care node itself -------------------------------------------------
    other_case = "ab" * 32
    reg = pb.PlanRegistration(type=pb.PLAN_OPP, owner=mentor, review_interval_days=7,
                              milestones=[pb.PlanStep(label="opp", date=week)])
    call = lambda c, actor, **cmd: dict(plan_command=pb.PlanCommandRequest(
        case_pseudonym=c, command=pb.PlanCommand(actor=actor, **cmd)))
    rbtest.check_refusals(pb, school, [
        ("a case of no pupil here", call(other_case, mentor, register=reg), "NOT_FOUND", "case_pseudonym"),
        ("another node's actor", call(case, jeugdhulp, register=reg), "PERMISSION_DENIED", "command.actor.node"),
        ("a milestone before today", call(case, mentor, register=pb.PlanRegistration(
            type=pb.PLAN_OPP, owner=mentor, review_interval_days=7,
            milestones=[pb.PlanStep(label="opp", date=ymd(d0 - datetime.timedelta(days=1)))])),
         "INVALID_FIELD", "command.register.milestones[0].date"),
        ("no command", call(case, mentor), "MISSING_FIELD", "command.command"),
        ("a bad pseudonym", call("XYZ", mentor, review=pb.PlanReference(plan_id=1)),
         "INVALID_FIELD", "case_pseudonym"),
    ])
    rbtest.check_refusals(pb, care, [
        ("a role it is not involved in", call(case, pb.Actor(node="care-a", role=pb.WIJKTEAM),
                                              review=pb.PlanReference(plan_id=1)),
         "FAILED_PRECONDITION", "command.actor"),
        ("plan id 0", call(case, jeugdhulp, close=pb.PlanReference(plan_id=0)), "NOT_FOUND", "command.close.plan_id"),
    ])
    check_eq(rbtest.counter(school.status(), "school_plan_commands_sent"), 1, "plan commands school-a sent")
    check_eq(rbtest.counter(care.status(), "care_plan_commands_sent"), 2, "plan commands care-a sent")
    log("bad plan commands refused at the school and care nodes with code and field, nothing sent")


if __name__ == "__main__":
    rbtest.run("plans_region", main)
