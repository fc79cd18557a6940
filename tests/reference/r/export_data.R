# Export the public data sets of R `survey` used by the reference scripts to
# tests/reference/data/ (write.csv(row.names = FALSE, na = ""), factors as labels).
# The `api` and `scd` data ship with the R package survey (Lumley, GPL-2 | GPL-3).
# Run from the repository root: Rscript tests/reference/r/export_data.R
source("tests/reference/r/_common.R")

data(api)
data(scd)

# apistrat is already frozen as data/survey_apistrat.csv (see expected.json); re-export it only
# to check that it is byte-identical, never to change it silently.
tmp <- tempfile(fileext = ".csv")
write.csv(apistrat, tmp, row.names = FALSE, na = "")
same <- identical(readLines(tmp), readLines(file.path(DATA_DIR, "survey_apistrat.csv")))
cat("survey_apistrat.csv identical to write.csv(apistrat):", same, "\n")
if (!same) stop("data/survey_apistrat.csv differs from R's apistrat")

write_ref_csv(apiclus1, "survey_apiclus1.csv")
write_ref_csv(apiclus2, "survey_apiclus2.csv")
write_ref_csv(apipop, "survey_apipop.csv")
write_ref_csv(scd, "survey_scd.csv")

# derived columns of the banner / trend references (rule in SETUP_DERIVED of _common.R)
run(SETUP_DERIVED)
cols <- c("snum", "meals_band", "hi700", "nps_code", "wave", "targeted", "untargeted", "did_diff", "schwide_yes")
derived <- rbind(
  cbind(dataset = "apistrat", apistrat[, cols]),
  cbind(dataset = "apiclus1", apiclus1[, cols])
)
write_ref_csv(derived, "survey_api_derived.csv")
