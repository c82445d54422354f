"""Callers the customer tests act as."""
from guanxi_common.context import Actor

ADMIN = Actor(user_id="admin-1", roles=frozenset({"admin"}), request_id="req-admin")
REP = Actor(user_id="rep-1", roles=frozenset({"sales_rep"}), region="广东", request_id="req-rep")
REP2 = Actor(user_id="rep-2", roles=frozenset({"sales_rep"}), region="广东", request_id="req-rep2")
MANAGER = Actor(user_id="mgr-1", roles=frozenset({"sales_manager"}), region="广东")
CREDIT = Actor(user_id="cm-1", roles=frozenset({"credit_manager"}))
AUDITOR = Actor(user_id="aud-1", roles=frozenset({"auditor"}))
