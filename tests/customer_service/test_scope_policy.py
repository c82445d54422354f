"""The scope and existence policy of the customer service (docs/api.md "Scope" and
"Existence"): a customer outside the caller's read scope answers exactly like a missing
number, references inside a request are scope-checked like the customer in the path, a
link is either side's to see and end, and duplicate refusals name only what the caller may
read."""
import pytest

from customer.application import pool, relationships
from customer.dependencies import pool_policy_from
from customer.queries import duplicates
from customer.queries import parties as party_queries
from customer.queries import relationships as relationship_queries
from guanxi_common.context import Actor
from guanxi_common.contracts.customer import CustomerCreateSchema
from guanxi_common.errors import Conflict, Forbidden, NotFound
from guanxi_common.validation import load

from customer_testkit import ADMIN, REP, REP2, create, update

NORTH_MANAGER = Actor(user_id="mgr-north", roles=frozenset({"sales_manager"}),
                                  region="北京")


def refusal(call):
    with pytest.raises((NotFound, Forbidden)) as err:
        call()
    return type(err.value), err.value.message, err.value.details


def link(uow, source, target, type_="guarantor_of"):
    with uow:
        return relationships.add_relationship(
            uow, {"type": type_, "from_customer": source, "to_customer": target})


@pytest.fixture
def three(uow_for):
    """A customer of rep-1, one of rep-2 and one in the pool (广东)."""
    mine, _ = create(uow_for(REP), name="范围代表一有限公司", province="广东")
    theirs, _ = create(uow_for(REP2), name="范围代表二有限公司", province="广东",
                       phones=[{"value": "13900001111"}])
    pooled, _ = create(uow_for(ADMIN), name="范围公海有限公司", province="广东",
                       phones=[{"value": "13900002222"}])
    return mine.number, theirs.number, pooled.number


def test_out_of_scope_answers_exactly_like_a_missing_number(uow_for, three):
    _, theirs, _ = three
    missing = "C09999999"
    session = uow_for(REP).session
    for hidden_ref, missing_ref in ((theirs, missing), (theirs.lower(), missing.lower())):
        for ref in (hidden_ref, missing_ref):  # the same answer, the caller's ref echoed
            assert refusal(lambda: party_queries.get(session, REP, ref)) == (
                NotFound, f"customer {ref} not found", {"customer": ref})
    for call in (lambda ref: party_queries.history(session, REP, ref),
                 lambda ref: update(uow_for(REP), ref, tier="A"),
                 lambda ref: relationship_queries.list_relationships(session, REP, ref),
                 lambda ref: relationship_queries.group_tree(session, REP, ref)):
        assert refusal(lambda: call(theirs)) == (
            NotFound, f"customer {theirs} not found", {"customer": theirs})
        assert refusal(lambda: call(missing)) == (
            NotFound, f"customer {missing} not found", {"customer": missing})


def test_readable_but_not_changeable_is_still_forbidden(uow_for, three):
    service_agent = Actor(user_id="agent-1", roles=frozenset({"service_agent"}),
                                      region="广东")
    mine, _, _ = three
    assert party_queries.get(uow_for(service_agent).session, service_agent, mine)
    assert refusal(lambda: update(uow_for(service_agent), mine, tier="A"))[0] is Forbidden


def test_a_relationship_target_is_scope_checked_and_nothing_is_written(uow_for, three):
    mine, theirs, pooled = three
    before = party_queries.get(uow_for(ADMIN).session, ADMIN, theirs)["version"]
    kind, message, details = refusal(lambda: link(uow_for(REP), mine, theirs))
    assert (kind, details) == (NotFound, {"customer": theirs})
    assert "范围代表二" not in message
    missing = refusal(lambda: link(uow_for(REP), mine, "C09999999"))
    assert missing == (NotFound, "customer C09999999 not found", {"customer": "C09999999"})
    # the inverse code names the same target the other way round: refused alike
    assert refusal(lambda: link(uow_for(REP), mine, theirs, "guaranteed_by"))[0] is NotFound
    assert party_queries.get(uow_for(ADMIN).session, ADMIN, theirs)["version"] == before
    assert relationship_queries.list_relationships(uow_for(ADMIN).session, ADMIN, mine) == []
    # within scope (the pool) it works, and answers the other end's name
    assert link(uow_for(REP), mine, pooled).to_customer.number == pooled
    # a manager of another region cannot link to this region's customers either
    north, _ = create(uow_for(NORTH_MANAGER), name="北方经理的有限公司", province="北京")
    assert refusal(lambda: link(uow_for(NORTH_MANAGER), north.number, mine))[0] is NotFound


def test_either_end_sees_and_ends_a_link_but_names_only_what_it_may_read(uow_for, three):
    mine, theirs, _ = three
    rel = link(uow_for(ADMIN), mine, theirs)  # made by someone who sees both
    seen_by_rep2 = relationship_queries.list_relationships(uow_for(REP2).session, REP2, theirs)
    assert [(r["from_customer"], r["direction"]) for r in seen_by_rep2] == [(mine, "incoming")]
    assert "from_name" not in seen_by_rep2[0] and seen_by_rep2[0]["to_name"] == "范围代表二有限公司"
    seen_by_rep1 = relationship_queries.list_relationships(uow_for(REP).session, REP, mine)
    assert "to_name" not in seen_by_rep1[0] and seen_by_rep1[0]["from_name"] == "范围代表一有限公司"
    # the target's owner may end it; someone who sees neither end is told it does not exist
    outsider = Actor(user_id="rep-3", roles=frozenset({"sales_rep"}), region="广东")
    for remove in (False, True):
        with uow_for(outsider) as uow:
            kind, _, details = refusal(lambda: relationships.end_relationship(
                uow, rel.id, remove=remove))
        assert (kind, details) == (NotFound, {"relationship": rel.id})
    with uow_for(REP2) as uow:
        relationships.end_relationship(uow, rel.id, remove=True)
    assert relationship_queries.list_relationships(
        uow_for(ADMIN).session, ADMIN, mine, include_ended=True) == []


def test_group_tree_shows_the_shape_but_not_names_out_of_scope(uow_for, three):
    mine, theirs, _ = three
    with uow_for(ADMIN) as uow:
        relationships.add_relationship(uow, {"type": "holding_of", "from_customer": mine,
                                             "to_customer": theirs})
    tree = relationship_queries.group_tree(uow_for(REP).session, REP, mine)
    child = tree["root"]["children"][0]
    assert tree["root"]["name"] == "范围代表一有限公司"
    assert child["number"] == theirs and "name" not in child


def test_claim_and_release_of_an_unreadable_customer_answer_not_found(uow_for, three):
    _, theirs, _ = three
    policy = pool_policy_from({})
    with uow_for(REP) as uow:
        assert refusal(lambda: pool.claim(uow, theirs, policy))[0] is NotFound
    with uow_for(REP) as uow:
        assert refusal(lambda: pool.release(uow, theirs))[0] is NotFound
    with uow_for(NORTH_MANAGER) as uow:
        assert refusal(lambda: pool.assign(uow, theirs, "mgr-north"))[0] is NotFound


def test_a_duplicate_outside_scope_stops_the_entry_without_naming_it(uow_for, three):
    _, theirs, pooled = three
    # rep-1 may not read rep-2's customer: refused, without its number or name
    with pytest.raises(Conflict) as err:
        create(uow_for(REP), name="另一个有限公司", phones=[{"value": "13900001111"}])
    assert theirs not in err.value.message and "existing_number" not in err.value.details
    assert err.value.details["conflicts"] == [{"field": "phones", "value": "+8613900001111"}]
    # a pool customer is in scope: named
    with pytest.raises(Conflict) as err:
        create(uow_for(REP), name="又一个有限公司", phones=[{"value": "13900002222"}])
    assert err.value.details["existing_number"] == pooled and pooled in err.value.message
    # the same on update
    own, _ = create(uow_for(REP), name="第三个有限公司")
    with pytest.raises(Conflict) as err:
        update(uow_for(REP), own.number, phones=[{"value": "13900001111"}])
    assert "existing_number" not in err.value.details


def test_duplicate_check_hides_what_the_caller_may_not_read(uow_for, three):
    _, theirs, pooled = three
    probe = load(CustomerCreateSchema(), {"party_type": "company", "name": "范围代表二有限公司",
                                          "phones": [{"value": "13900001111"}]})
    as_rep = duplicates.check_duplicates(uow_for(REP).session, REP, probe)
    assert as_rep["conflicts"] == [{"field": "phones", "value": "+8613900001111"}]
    assert as_rep["likely"] and all("number" not in m or m["number"] != theirs
                                    for m in as_rep["likely"])
    assert all("name" not in m for m in as_rep["likely"] if "number" not in m)
    assert {m.get("number") for m in as_rep["likely"]} <= {None, pooled}
    as_rep2 = duplicates.check_duplicates(uow_for(REP2).session, REP2, probe)
    assert as_rep2["conflicts"][0]["existing_number"] == theirs
    assert theirs in {m.get("number") for m in as_rep2["likely"]}
