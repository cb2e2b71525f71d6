"""The agency client's check of the hub's disclosure log (RFC 9162 Merkle log).

* :mod:`.wire`: the log API's answers, parsed strictly;
* :mod:`.entries`: what an entry must say (pure checks);
* :mod:`.checker`: :class:`~agency_client.transparency.checker.LogChecker`, which fetches
  proofs, keeps the heads seen and the per-envelope status in the store, and raises alarms.
"""
