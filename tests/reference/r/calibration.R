# Raking / calibration-aware SEs (issue 15 item 3): the estimators survey_designs.R does not
# cover on calibrated designs - svyratio, svyglm, svychisq, shares of a non-margin factor - on the same
# raked / calibrated designs (apiclus1 raked to stype + sch.wide, calibrate() linear and
# raking to stype + api99, apistrat raked to sch.wide + awards). Weights: the frozen files
# data/calibrated_*_weights.csv (written by survey_designs.R). Run from the repository root:
#   Rscript tests/reference/r/calibration.R
source("tests/reference/r/_common.R")
data(api)

F_CLUS1 <- "data/survey_apiclus1.csv"
F_STRAT <- "data/survey_apistrat.csv"

setup_pop <- paste(
  "pop.types <- as.data.frame(table(stype=apipop$stype))",
  "pop.schwide <- as.data.frame(table(sch.wide=apipop$sch.wide))",
  "pop.awards <- as.data.frame(table(awards=apipop$awards))",
  "pop.totals <- c(`(Intercept)`=nrow(apipop), stypeH=sum(apipop$stype=='H'), stypeM=sum(apipop$stype=='M'), api99=sum(apipop$api99))",
  "dclus1 <- svydesign(id=~dnum, weights=~pw, data=apiclus1, fpc=~fpc)",
  "dstrat <- svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat, fpc=~fpc)",
  sep = "; "
)
run(setup_pop)

designs <- list(
  apiclus1_raked = list(F_CLUS1, "rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide), control=list(maxit=100, epsilon=1e-12))"),
  apiclus1_cal_linear = list(F_CLUS1, "calibrate(dclus1, ~stype+api99, pop.totals, calfun='linear')"),
  apiclus1_cal_raking = list(F_CLUS1, "calibrate(dclus1, ~stype+api99, pop.totals, calfun='raking', epsilon=1e-12, maxit=200)"),
  apistrat_raked = list(F_STRAT, "rake(dstrat, list(~sch.wide, ~awards), list(pop.schwide, pop.awards), control=list(maxit=100, epsilon=1e-12))")
)

for (prefix in names(designs)) {
  f <- designs[[prefix]][[1]]
  dcall <- designs[[prefix]][[2]]
  D <- run(dcall)
  assign("D", D, envir = globalenv())
  cl <- "svyratio(~api00, ~api99, D)"
  add(paste0(prefix, ".svyratio_api00_api99"), f, dcall, cl, stat_values(run(cl), D), setup = setup_pop)
  cl <- "svymean(~awards, D)"
  add(paste0(prefix, ".svymean_awards"), f, dcall, cl, stat_values(run(cl), D), setup = setup_pop)
  cl <- "svymean(~api00+api99, D)"
  add(paste0(prefix, ".svymean_api00_api99"), f, dcall, cl, stat_values(run(cl), D), setup = setup_pop)
  for (st in c("F", "Chisq")) {
    cl <- sprintf("svychisq(~awards+stype, D, statistic='%s')", st)
    add(paste0(prefix, ".svychisq_awards_stype_", st), f, dcall, cl, test_values(run(cl)), setup = setup_pop)
  }
  cl <- "svyglm(api00 ~ ell + meals, design=D)"
  add(paste0(prefix, ".svyglm_api00_ell_meals"), f, dcall, cl, glm_values(run(cl)), setup = setup_pop)
}

write_entries("r_calibration.json",
  "Issue 15 item 3: ratio, shares, joint means and regression on raked / calibrated designs of R survey's api data (calibration-aware linearisation). Produced by tests/reference/r/calibration.R; final weights in data/calibrated_*_weights.csv.")
