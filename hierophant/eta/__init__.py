"""Time estimates (issue 12): fit.py is the rate model of one (worker, mode), rates.py owns
the fits and persists them, forecast.py turns fits into ETAs of running and queued proofs,
and estimates.py applies it to the live requests. fit.py and forecast.py are pure code."""
