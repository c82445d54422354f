"""Sales pipeline stages, stage moves, and the funnel and forecast report math.

Why these rules:
- The pipeline is data (offices configure their own stages and win probabilities); a
  valid pipeline has unique codes, probabilities from 0 to 1, at least one won stage
  (probability 1) and one lost stage (probability 0).
- An opportunity moves freely between open stages (forwards, or back when a deal
  cools) and from any open stage to won or lost.  Won and lost are final: reopening is
  not allowed — a new deal with the customer is a new opportunity, so win rates and
  cycle times stay honest.  Losing needs a reason (为什么丢单 is what the manager asks).
- Weighted amount = amount x probability, to the cent.

Funnel report (over plain records, see ``funnel``):
- count / value / weighted value per stage are by each opportunity's *current* stage;
  the weighted value uses the stage's probability.
- "Reached" follows the chain of open stages in order, then won.  An opportunity
  reached every stage up to the furthest one in its history (or its current stage):
  one that skipped from lead to proposal also passed qualified.  So conversion from
  stage i to i+1 = reached(i+1) / reached(i) is always between 0 and 1 and the rates
  multiply up to lead-to-won.  Lost is not in the chain; a lost opportunity counts as
  having reached the stages it had been in.  History codes the pipeline no longer has
  are ignored.
- Days in a stage = the time from entering it to entering the next stage, summed per
  opportunity when it was in the stage more than once, averaged over the opportunities
  that left the stage.  The current stay of an open opportunity is unfinished and not
  counted — unless ``as_of`` is given, then it counts up to ``as_of``.
- Win rate = won / (won + lost); open opportunities are not in it.  Won and lost come
  from ``status`` ("won"/"lost") or, without one, from the current stage's flags.
Ratios are Decimal fractions to 4 places, average days to 2 places; None when there is
nothing to divide by.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from guanxi_common.contracts.enums import OPPORTUNITY_STATUSES

from .errors import DomainRuleError
from .money import ONE, ZERO, money, ratio, to_decimal

OPEN, WON, LOST = OPPORTUNITY_STATUSES
_DAY_SECONDS = Decimal(86400)
_DAYS_PLACES = Decimal("0.01")


class FunnelRuleError(DomainRuleError):
    """codes: invalid_pipeline, unknown_stage, stage_closed, probability_out_of_range,
    lost_reason_required, invalid_number."""


@dataclass(frozen=True)
class Stage:
    code: str
    name: str
    order: int
    probability: Decimal
    is_won: bool = False
    is_lost: bool = False
    name_zh: str = ""

    @property
    def is_closed(self) -> bool:
        return self.is_won or self.is_lost


DEFAULT_PIPELINE = (
    Stage("lead", "Lead", 10, Decimal("0.1"), name_zh="线索"),
    Stage("qualified", "Qualified", 20, Decimal("0.2"), name_zh="需求确认"),
    Stage("proposal", "Proposal", 30, Decimal("0.5"), name_zh="方案报价"),
    Stage("negotiation", "Negotiation", 40, Decimal("0.7"), name_zh="商务谈判"),
    Stage("won", "Won", 50, Decimal("1.0"), is_won=True, name_zh="赢单"),
    Stage("lost", "Lost", 60, Decimal("0.0"), is_lost=True, name_zh="输单"),
)


def _probability(value, field: str = "probability") -> Decimal:
    try:
        probability = to_decimal(value, field)
    except DomainRuleError as error:
        raise FunnelRuleError(error.code, error.message) from None
    if not ZERO <= probability <= ONE:
        raise FunnelRuleError("probability_out_of_range",
                              f"{field} is a fraction from 0 to 1 (70 % = 0.7), not {probability}")
    return probability


def check_pipeline(pipeline: Sequence[Stage]) -> None:
    """Raise ``invalid_pipeline`` unless the stages make a usable pipeline (see module doc)."""
    codes = [stage.code for stage in pipeline]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise FunnelRuleError("invalid_pipeline", f"stage codes must be unique: {', '.join(duplicates)}")
    for stage in pipeline:
        _probability(stage.probability, f"probability of {stage.code}")
        if stage.is_won and stage.is_lost:
            raise FunnelRuleError("invalid_pipeline", f"stage {stage.code} cannot be both won and lost")
        if stage.is_won and stage.probability != ONE:
            raise FunnelRuleError("invalid_pipeline", f"won stage {stage.code} has probability 1")
        if stage.is_lost and stage.probability != ZERO:
            raise FunnelRuleError("invalid_pipeline", f"lost stage {stage.code} has probability 0")
    if not any(stage.is_won for stage in pipeline) or not any(stage.is_lost for stage in pipeline):
        raise FunnelRuleError("invalid_pipeline", "a pipeline needs a won stage and a lost stage")


def stages_by_code(pipeline: Sequence[Stage]) -> dict[str, Stage]:
    return {stage.code: stage for stage in pipeline}


def get_stage(pipeline: Sequence[Stage], code: str) -> Stage:
    stage = stages_by_code(pipeline).get(code)
    if stage is None:
        known = ", ".join(s.code for s in sorted(pipeline, key=lambda s: s.order))
        raise FunnelRuleError("unknown_stage", f"unknown stage {code!r}; one of {known}")
    return stage


def initial_stage(pipeline: Sequence[Stage]) -> Stage:
    """Where a new opportunity starts: the first open stage."""
    return min((s for s in pipeline if not s.is_closed), key=lambda s: s.order)


def check_stage_move(pipeline: Sequence[Stage], old_code: str, new_code: str) -> bool:
    """Raise unless the move is allowed; True for a real move, False when the stage stays the same."""
    old, new = get_stage(pipeline, old_code), get_stage(pipeline, new_code)
    if old.code == new.code:
        return False
    if old.is_closed:
        raise FunnelRuleError("stage_closed", f"the opportunity is {old.code}; a closed opportunity is not "
                                              f"reopened — create a new one")
    return True


def check_lost_reason(stage: Stage, reason: str | None) -> str | None:
    """A move to a lost stage needs a reason; returned stripped (None when empty elsewhere)."""
    text = (reason or "").strip()
    if stage.is_lost and not text:
        raise FunnelRuleError("lost_reason_required", "say why the opportunity was lost")
    return text or None


def weighted_amount(amount: Decimal, probability: Decimal) -> Decimal:
    """amount x probability, to the cent."""
    try:
        value = to_decimal(amount)
    except DomainRuleError as error:
        raise FunnelRuleError(error.code, error.message) from None
    return money(value * _probability(probability))


def _get(record, name: str, default=None):
    if isinstance(record, Mapping):
        return record.get(name, default)
    return getattr(record, name, default)


def _outcome(record, stage: Stage | None) -> str:
    status = _get(record, "status")
    if status in (WON, LOST):
        return status
    if stage is not None and stage.is_won:
        return WON
    if stage is not None and stage.is_lost:
        return LOST
    return OPEN


def _elapsed_days(start: datetime, end: datetime) -> Decimal:
    return Decimal((end - start).total_seconds()) / _DAY_SECONDS


def funnel(opportunities: Iterable, pipeline: Sequence[Stage] = DEFAULT_PIPELINE,
           as_of: datetime | None = None) -> dict:
    """The funnel report over opportunity records (mappings or objects).

    Each record has ``stage`` (code), ``amount``, ``stage_history`` (``[(stage_code,
    entered_at)]``, any order) and optionally ``status`` (open / won / lost).  Returns::

        {"stages": {code: {"count": int, "value": Decimal, "weighted_value": Decimal}},  # pipeline order
         "reached": {code: int},                       # chain stages: open stages, then won
         "conversion": [{"from": code, "to": code, "rate": Decimal | None}],
         "avg_days": {code: Decimal | None},           # open stages
         "open": int, "won": int, "lost": int, "win_rate": Decimal | None,
         "unknown_stage": int}                         # records whose current stage is not in the pipeline
    """
    ordered = sorted(pipeline, key=lambda s: s.order)
    by_code = {s.code: s for s in ordered}
    chain = [s.code for s in ordered if not s.is_closed] + [s.code for s in ordered if s.is_won]
    position = {code: index for index, code in enumerate(chain)}

    stages = {s.code: {"count": 0, "value": ZERO, "weighted_value": ZERO} for s in ordered}
    reached = {code: 0 for code in chain}
    days_total = {s.code: ZERO for s in ordered if not s.is_closed}
    days_count = {code: 0 for code in days_total}
    outcomes = {OPEN: 0, WON: 0, LOST: 0}
    unknown = 0

    for record in opportunities:
        current = by_code.get(_get(record, "stage"))
        amount = to_decimal(_get(record, "amount") or 0)
        outcome = _outcome(record, current)
        outcomes[outcome] += 1
        if current is None:
            unknown += 1
        else:
            figures = stages[current.code]
            figures["count"] += 1
            figures["value"] += amount
            figures["weighted_value"] += weighted_amount(amount, current.probability)

        history = sorted(_get(record, "stage_history") or (), key=lambda entry: entry[1])
        visited = [code for code, _ in history if code in position]
        if current is not None and current.code in position:
            visited.append(current.code)
        if visited:
            furthest = max(position[code] for code in visited)
            for code in chain[:furthest + 1]:
                reached[code] += 1

        spent: dict[str, Decimal] = {}
        for (code, entered), (_, left) in zip(history, history[1:]):
            if code in days_total:
                spent[code] = spent.get(code, ZERO) + _elapsed_days(entered, left)
        if as_of is not None and history and outcome == OPEN and history[-1][0] in days_total:
            code, entered = history[-1]
            spent[code] = spent.get(code, ZERO) + _elapsed_days(entered, as_of)
        for code, days in spent.items():
            days_total[code] += days
            days_count[code] += 1

    for figures in stages.values():
        figures["value"] = money(figures["value"])
        figures["weighted_value"] = money(figures["weighted_value"])
    conversion = [{"from": a, "to": b, "rate": ratio(reached[b], reached[a])} for a, b in zip(chain, chain[1:])]
    avg_days = {code: (days_total[code] / days_count[code]).quantize(_DAYS_PLACES, rounding=ROUND_HALF_UP)
                if days_count[code] else None for code in days_total}
    return {"stages": stages, "reached": reached, "conversion": conversion, "avg_days": avg_days,
            "open": outcomes[OPEN], "won": outcomes[WON], "lost": outcomes[LOST],
            "win_rate": ratio(outcomes[WON], outcomes[WON] + outcomes[LOST]), "unknown_stage": unknown}


def month_key(day: date) -> str:
    """'YYYY-MM' of a date (or datetime: convert it to the office time zone first)."""
    return f"{day.year:04d}-{day.month:02d}"


def shift_month(key: str, months: int) -> str:
    """The month ``months`` after (negative: before) a 'YYYY-MM' key."""
    year, month = (int(part) for part in key.split("-"))
    index = year * 12 + (month - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _sorted_keys(totals: dict) -> dict:
    return dict(sorted(totals.items(), key=lambda item: (item[0] is None, str(item[0]))))


def forecast(opportunities: Iterable, pipeline: Sequence[Stage] = DEFAULT_PIPELINE) -> dict:
    """Weighted forecast (amount x probability) by expected close month, owner and region.

    Records (mappings or objects) have ``expected_close`` (date or None), ``amount``,
    ``probability`` (None: the probability of their ``stage`` in ``pipeline``), ``owner``
    and ``region``.  The caller chooses which opportunities count (normally the open
    ones); a won one at probability 1 counts in full, a lost one adds 0.  Returns
    ``{"by_month": {"YYYY-MM" | "unscheduled": Decimal}, "by_owner": {...},
    "by_region": {...}, "total": Decimal}``, keys sorted (None last).
    """
    by_month: dict = {}
    by_owner: dict = {}
    by_region: dict = {}
    total = ZERO
    for record in opportunities:
        probability = _get(record, "probability")
        if probability is None:
            probability = get_stage(pipeline, _get(record, "stage")).probability
        weighted = weighted_amount(_get(record, "amount") or 0, probability)
        close = _get(record, "expected_close")
        month = month_key(close) if close is not None else "unscheduled"
        for totals, key in ((by_month, month), (by_owner, _get(record, "owner")), (by_region, _get(record, "region"))):
            totals[key] = totals.get(key, ZERO) + weighted
        total += weighted
    return {"by_month": _sorted_keys(by_month), "by_owner": _sorted_keys(by_owner),
            "by_region": _sorted_keys(by_region), "total": money(total)}


def period_change(current: Decimal, previous: Decimal) -> Decimal | None:
    """Growth from ``previous`` to ``current`` as a fraction (0.25 = +25 %), 4 places.

    None when the previous period is 0 (growth from nothing is not a number).  The base
    is the previous value's magnitude, so a loss shrinking from -100 to -50 is +0.5.
    """
    base = to_decimal(previous, "previous")
    return ratio(to_decimal(current, "current") - base, abs(base))


def period_series(values_by_month: Mapping[str, Decimal]) -> list[dict]:
    """Month-by-month figures with month-on-month and year-on-year change.

    ``values_by_month`` maps 'YYYY-MM' to an amount; a month missing from it counts as 0.
    Returns ``[{"period", "value", "mom", "yoy"}]`` for the given months in order.
    """
    result = []
    for key in sorted(values_by_month):
        value = to_decimal(values_by_month[key], key)
        previous = values_by_month.get(shift_month(key, -1), ZERO)
        last_year = values_by_month.get(shift_month(key, -12), ZERO)
        result.append({"period": key, "value": value, "mom": period_change(value, previous),
                       "yoy": period_change(value, last_year)})
    return result
