-- Accounts in one cohort (account value or all-time PnL band: the names do not overlap).
-- params: cohort
SELECT address FROM account_cohorts WHERE value_cohort = $cohort OR pnl_cohort = $cohort
