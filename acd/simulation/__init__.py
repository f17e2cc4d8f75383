"""Service outcomes of the hotline, by simulation and by theory (docs/simulation.md).

A discrete-event simulation of the contact centre drives the hotline's own routing: the real
:func:`acd.decision.decide`, :func:`acd.states.transition` and the policy and overflow rules of
the operators file, on a simulated clock. ``scenario`` (the inputs), ``demand`` (the callers),
``roster`` (who works), ``routing`` (skills or FIFO, as the decision sees them), ``events``
(the clock), ``centre`` (the run loop), ``statistics`` (what is measured), ``run`` (one run),
``report`` (text tables), ``planning`` (staffing plans); ``erlang``: Erlang B, C and A from their definitions, the limit for
one skill and FIFO that the simulation is checked against.
"""
