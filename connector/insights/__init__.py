"""Learning from the tiers (docs/rules.md, Learning from the top): the ideal-client profile, look-alike fit, the Pareto of
headaches and a backtest of the tiers. Pure functions over polars frames: no I/O, no clock."""

from connector.insights.backtest import Backtest, backtest, build_history, history_between
from connector.insights.fit import fit_scores
from connector.insights.pareto import Pareto, pareto
from connector.insights.profile import Profile, ProfileRow, learn_profile

__all__ = [
    "Backtest",
    "Pareto",
    "Profile",
    "ProfileRow",
    "backtest",
    "build_history",
    "fit_scores",
    "history_between",
    "learn_profile",
    "pareto",
]
