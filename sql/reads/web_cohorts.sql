-- The cohorts the overview filters by: each band's kind and name, in display order.
SELECT kind, cohort FROM cohort_bands ORDER BY kind, rank
