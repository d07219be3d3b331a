"""The distributors' notifications: ``POST /library/odl/notify/<token>``.

A machine posts here (no session, no CSRF token): the signed token in the URL is what
authenticates it, and the body is not trusted — the loan's status document is read again
from the distributor (``convergence.notified``). The answer is 204, also for a notification
repeated; 404 for a token that is not ours.
"""

from __future__ import annotations

from flask import Response

from library.blueprints import library as bp
from library.distributors.convergence import notified
from vhs.extensions import csrf


@bp.route("/library/odl/notify/<token>", methods=["POST"])
@csrf.exempt
def odl_notify(token: str) -> Response:
    """A checkout changed at the distributor: converge our loan with its status document."""
    notified(token)
    return Response(status=204)
