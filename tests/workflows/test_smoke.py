from casework.models import Case
from workflows import actions


def test_happy_path(world):
    case = actions.case_file(actor=world.member.user, title="接孩子堵车", description="学校门口拥堵",
                             category_id=world.category.pk, contact_ids=world.contact_ids())
    actions.case_accept(case_id=case.pk, actor=world.staff, note="可以转化")
    actions.case_convert(case_id=case.pk, actor=world.staff, output_type="proposal")
    case.refresh_from_db()
    actions.output_record_outcome(output_id=case.output_id, actor=world.staff, outcome="已增设护学岗")
    actions.case_record_feedback(case_id=case.pk, actor=world.member.user, method="visit", satisfaction="satisfied")
    case.refresh_from_db()
    assert case.status == "closed"
