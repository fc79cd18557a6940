# Replicate designs under raking, and svyvar refitted per replicate (issue 15, branch bannerrep).
# JK1 replicates of apiclus1 (as.svrepdesign), raked to stype + sch.wide: R rakes the
# full-sample weight and every replicate weight to the population margins (postStratify per
# margin, repeated), so replicate SEs reflect the raking. Writes
# tests/reference/r_replicate_calibration.json and the raked weights
# data/rep_apiclus1_jk1_raked.csv (snum, the raked full-sample weight, the raked replicates).
# Run from the repository root:  Rscript tests/reference/r/replicate_calibration.R
source("tests/reference/r/_common.R")
data(api)
F_CLUS1 <- "data/survey_apiclus1.csv"
setup <- paste(
  "pop.types <- as.data.frame(table(stype=apipop$stype))",
  "pop.schwide <- as.data.frame(table(sch.wide=apipop$sch.wide))",
  "dclus1 <- svydesign(id=~dnum, weights=~pw, data=apiclus1, fpc=~fpc)",
  "rclus1 <- as.svrepdesign(dclus1, type='JK1')",
  sep = "; "
)
run(setup)
designs <- list(
  apiclus1_JK1 = "rclus1",
  apiclus1_JK1_raked = "rake(rclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide), control=list(maxit=100, epsilon=1e-12))"
)
for (prefix in names(designs)) {
  dcall <- designs[[prefix]]
  D <- run(dcall)
  assign("D", D, envir = globalenv())
  A <- function(key, cl, values) add(paste(prefix, key, sep = "."), F_CLUS1, dcall, cl, values, setup = setup)
  A("design", "list(scale=D$scale, rscales=D$rscales, mse=D$mse, df=degf(D))",
    list(scale = D$scale, rscales = as.numeric(D$rscales), mse = D$mse, df = degf(D)))
  for (cl in c("svymean(~api00+api99, D)", "svytotal(~enroll, D)", "svyratio(~api00, ~api99, D)",
               "svymean(~awards, D)", "svyby(~api00, ~awards, D, svymean)",
               "svyby(~api00, ~stype, D, svyvar)")) {
    key <- gsub("[^A-Za-z0-9_.]+", "_", cl)
    A(key, cl, stat_values(run(cl), D))
  }
  cl <- "svyvar(~api00, D)"  # a 1 x 1 matrix: coef() has no names
  v <- run(cl)
  A("svyvar_api00_D_", cl, list(estimate = list(api00 = as.numeric(coef(v))),
    se = list(api00 = as.numeric(SE(v))), df = degf(D)))
  if (prefix == "apiclus1_JK1_raked") {
    out <- cbind(data.frame(snum = apiclus1$snum, w_raked = weights(D, type = "sampling")),
      rep_frame(D, data.frame(row.names = seq_len(nrow(apiclus1)))))
    write_ref_csv(out, "rep_apiclus1_jk1_raked.csv")
  }
}
write_entries("r_replicate_calibration.json",
  "Issue 15 (branch bannerrep): JK1 replicates of apiclus1 as given and raked to stype + sch.wide (every replicate weight re-raked), with svyvar per replicate. Produced by tests/reference/r/replicate_calibration.R; the raked weights in data/rep_apiclus1_jk1_raked.csv.")
