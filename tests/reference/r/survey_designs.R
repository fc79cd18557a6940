# Issue 15 references: multi-stage designs, lonely PSUs, fpc without weights, replicate-weight
# designs, raking / calibration-aware SEs, quantiles (Woodruff), on R survey's `api` and `scd`.
# Writes tests/reference/r_survey_designs.json and the frozen replicate / calibrated weights
# under tests/reference/data/. Run from the repository root:
#   Rscript tests/reference/r/survey_designs.R
source("tests/reference/r/_common.R")
data(api)
data(scd)

F_CLUS1 <- "data/survey_apiclus1.csv"
F_CLUS2 <- "data/survey_apiclus2.csv"
F_STRAT <- "data/survey_apistrat.csv"
F_POP <- "data/survey_apipop.csv"
F_SCD <- "data/survey_scd.csv"

# Estimators run on every design -------------------------------------------------------------
basic <- function(prefix, data, dcall, D, notes = NULL, setup = NULL, glm = TRUE,
                  chisq = TRUE, options = NULL) {
  assign("D", D, envir = globalenv())
  calls <- list(
    svymean_api00 = "svymean(~api00, D)",
    svymean_api00_api99 = "svymean(~api00+api99, D)",
    svytotal_enroll = "svytotal(~enroll, D, na.rm=TRUE)",
    svymean_enroll = "svymean(~enroll, D, na.rm=TRUE)",
    svymean_sch.wide = "svymean(~sch.wide, D)",
    svytotal_stype = "svytotal(~stype, D)"
  )
  for (k in names(calls)) {
    add(paste0(prefix, ".", k), data, dcall, calls[[k]], stat_values(run(calls[[k]]), D),
      notes = notes, setup = setup, options = options
    )
  }
  cl <- "svyratio(~api.stu, ~enroll, D, na.rm=TRUE)"
  r <- run(cl)
  add(paste0(prefix, ".svyratio_api.stu_enroll"), data, dcall, cl, list(
    estimate = as.numeric(coef(r)), se = as.numeric(SE(r)), df = degf(D),
    ci_normal = as.numeric(confint(r))
  ), notes = notes, setup = setup, options = options)
  cl <- "svyby(~api00, ~stype, D, svymean, covmat=TRUE)"
  add(paste0(prefix, ".svyby_api00_by_stype"), data, dcall, cl, by_values(run(cl), D),
    notes = notes, setup = setup, options = options
  )
  cl <- "svyby(~sch.wide, ~stype, D, svymean)"
  add(paste0(prefix, ".svyby_sch.wide_by_stype"), data, dcall, cl, by_values(run(cl), D),
    notes = notes, setup = setup, options = options
  )
  cl <- "svycontrast(svyby(~api00, ~sch.wide, D, svymean, covmat=TRUE), c(-1, 1))"
  add(paste0(prefix, ".domain_diff_api00_sch.wide_Yes_minus_No"), data, dcall, cl,
    stat_values(run(cl), D),
    notes = c(notes, "domain difference Yes - No of the api00 mean, SE from the design"),
    setup = setup, options = options
  )
  cl <- "svyquantile(~api00+enroll, D, c(0.25, 0.5, 0.75), ci=TRUE, na.rm=TRUE)"
  add(paste0(prefix, ".svyquantile_api00_enroll"), data, dcall, cl,
    quantile_values(run(cl), D),
    notes = c(notes, "survey >= 4: qrule='math', interval.type default of the design class"),
    setup = setup, options = options
  )
  if (glm) {
    cl <- "svyglm(api00 ~ ell + meals + mobility, design=D)"
    add(paste0(prefix, ".svyglm_api00"), data, dcall, cl, glm_values(run(cl)),
      notes = notes, setup = setup, options = options
    )
  }
  if (chisq) {
    for (st in c("F", "Chisq")) {
      cl <- sprintf("svychisq(~sch.wide+stype, D, statistic='%s')", st)
      add(sprintf("%s.svychisq_%s", prefix, st), data, dcall, cl, test_values(run(cl)),
        notes = notes, setup = setup, options = options
      )
    }
  }
}

# 1. Two-stage cluster sample apiclus2 ----------------------------------------------------------
dc2 <- "svydesign(id=~dnum+snum, fpc=~fpc1+fpc2, data=apiclus2)"
dclus2 <- run(dc2)
add("apiclus2.design", F_CLUS2, dc2, "weights(D); degf(D)", list(
  n = nrow(apiclus2), sum_weights = sum(weights(dclus2)), df = degf(dclus2),
  weights_min = min(weights(dclus2)), weights_max = max(weights(dclus2)),
  weights_equal_pw = isTRUE(all.equal(as.numeric(weights(dclus2)), apiclus2$pw))
), notes = "no weights given: R derives the weights from the stage-wise fpc (population sizes)")
basic("apiclus2", F_CLUS2, dc2, dclus2)

# the same design with the weights column given as well (they are N1/n1 * N2/n2 already)
dc2w <- "svydesign(id=~dnum+snum, fpc=~fpc1+fpc2, weights=~pw, data=apiclus2)"
D <- run(dc2w)
for (k in c("svymean(~api00, D)", "svytotal(~enroll, D, na.rm=TRUE)")) {
  add(paste0("apiclus2_pw.", sub("\\(.*", "", k), "_", ifelse(grepl("api00", k), "api00", "enroll")),
    F_CLUS2, dc2w, k, stat_values(run(k), D))
}

# two-stage without fpc: with-replacement at stage 1, later stages do not contribute
dc2n <- "svydesign(id=~dnum+snum, weights=~pw, data=apiclus2)"
D <- run(dc2n)
for (k in c("svymean(~api00, D)", "svytotal(~enroll, D, na.rm=TRUE)")) {
  add(paste0("apiclus2_nofpc.", sub("\\(.*", "", k), "_", ifelse(grepl("api00", k), "api00", "enroll")),
    F_CLUS2, dc2n, k, stat_values(run(k), D),
    notes = "no fpc: only the first stage (dnum) enters the variance (with-replacement)"
  )
}

# lonely units at the second stage. In apiclus2 every district with one sampled school has
# fpc2 = 1 (a certainty unit), so the option changes nothing there; a real stage-2 singleton is
# built by keeping only the smallest-snum school of the first district (by dnum) whose
# population fpc2 exceeds its number of sampled schools.
setup_l2 <- paste(
  "k2 <- table(apiclus2$dnum); N2 <- tapply(apiclus2$fpc2, apiclus2$dnum, max)",
  "d0 <- as.numeric(names(k2)[N2 > k2][1]); keep <- min(apiclus2$snum[apiclus2$dnum == d0])",
  "apiclus2_lonely <- apiclus2[apiclus2$dnum != d0 | apiclus2$snum == keep, ]",
  sep = "; "
)
run(setup_l2)
dc2l <- "svydesign(id=~dnum+snum, fpc=~fpc1+fpc2, data=apiclus2_lonely)"
n_per_dist <- table(apiclus2$dnum)
for (opt in c("fail", "adjust", "average", "remove", "certainty")) {
  options(survey.lonely.psu = opt)
  D <- run(dc2)
  add(paste0("apiclus2.lonely_option_", opt, ".svymean_api00"), F_CLUS2, dc2, "svymean(~api00, D)",
    c(stat_values(svymean(~api00, D), D), list(
      n_districts_with_one_school = sum(n_per_dist == 1),
      n_of_them_with_fpc2_gt_1 = sum(tapply(apiclus2$fpc2, apiclus2$dnum, max)[n_per_dist == 1] > 1)
    )),
    options = list(survey.lonely.psu = opt),
    notes = "every single-school district has fpc2 = 1 (certainty): no lonely unit, all options agree"
  )
  D <- run(dc2l)
  for (cl in c("svymean(~api00, D)", "svytotal(~enroll, D, na.rm=TRUE)")) {
    res <- tryCatch(stat_values(run(cl), D), error = function(e) list(error = conditionMessage(e)))
    add(sprintf("apiclus2_lonely_stage2_%s.%s", opt, sub("\\(~(\\w+).*", "_\\1", cl)),
      F_CLUS2, dc2l, cl, c(res, list(district = d0, kept_snum = keep, n = nrow(apiclus2_lonely))),
      setup = setup_l2, options = list(survey.lonely.psu = opt),
      notes = c("district d0 keeps one sampled school out of fpc2 > 1: a lonely unit at stage 2 ('fail' records R's error)",
        if (opt == "average") "survey 4.1 returns NaN for the SE here (JSON null): at stage 2 the lonely unit's district has no other stage-2 stratum to average over; a package may choose to refuse or to fall back, but must not print NaN")
    )
  }
}
options(survey.lonely.psu = "fail")

# 2. Lonely PSU: a singleton stratum -------------------------------------------------------------
setup_lonely <- paste(
  "apistrat_lonely <- apistrat[apistrat$stype != 'H' | apistrat$snum == min(apistrat$snum[apistrat$stype == 'H']), ]",
  "# all E and M schools, and only the H school with the smallest snum",
  sep = "; "
)
run(setup_lonely)
dl <- "svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat_lonely)"
for (opt in c("fail", "adjust", "average", "remove", "certainty")) {
  options(survey.lonely.psu = opt)
  D <- run(dl)
  for (cl in c("svymean(~api00, D)", "svytotal(~enroll, D)")) {
    res <- tryCatch(stat_values(run(cl), D), error = function(e) list(error = conditionMessage(e)))
    add(sprintf("apistrat_lonely_%s.%s", opt, sub("\\(~(\\w+).*", "_\\1", cl)),
      F_STRAT, dl, cl, res,
      setup = setup_lonely, options = list(survey.lonely.psu = opt),
      notes = "stratum H has a single PSU; 'fail' records R's error message"
    )
  }
  cl <- "svyby(~api00, ~sch.wide, D, svymean)"
  res <- tryCatch(by_values(run(cl), D), error = function(e) list(error = conditionMessage(e)))
  add(sprintf("apistrat_lonely_%s.svyby_api00_by_sch.wide", opt), F_STRAT, dl, cl, res,
    setup = setup_lonely, options = list(survey.lonely.psu = opt)
  )
}
options(survey.lonely.psu = "fail")
add("apistrat_lonely.design", F_STRAT, dl, "nrow(apistrat_lonely); table(apistrat_lonely$stype)",
  list(n = nrow(apistrat_lonely), snum_H = apistrat_lonely$snum[apistrat_lonely$stype == "H"],
       n_by_stype = as.list(table(as.character(apistrat_lonely$stype)))),
  setup = setup_lonely)

# 3. fpc without weights: R derives weights N/n ----------------------------------------------------
df1 <- "svydesign(id=~1, strata=~stype, fpc=~fpc, data=apistrat)"
D <- run(df1)
add("apistrat_fpc_noweights.design", F_STRAT, df1, "weights(D)", list(
  sum_weights = sum(weights(D)),
  weights_by_stype = as.list(tapply(weights(D), apistrat$stype, unique)),
  df = degf(D)
), notes = "weights = fpc / n_h (population over sample size per stratum)")
for (cl in c("svytotal(~enroll, D)", "svymean(~api00, D)", "svytotal(~api.stu, D)")) {
  add(sprintf("apistrat_fpc_noweights.%s", sub("\\(~([a-z0-9.]+).*", "_\\1", cl)),
    F_STRAT, df1, cl, stat_values(run(cl), D))
}
setup_rate <- "apistrat$fpc_rate <- ave(rep(1, nrow(apistrat)), apistrat$stype, FUN=sum) / apistrat$fpc"
run(setup_rate)
dfr <- "svydesign(id=~1, strata=~stype, fpc=~fpc_rate, data=apistrat)"
D <- run(dfr)
add("apistrat_fpc_rate_noweights.svytotal_enroll", F_STRAT, dfr, "svytotal(~enroll, D)",
  stat_values(svytotal(~enroll, D), D), setup = setup_rate,
  notes = "fpc given as the sampling fraction n_h/N_h (all values < 1): same design as fpc=~fpc")
dfc <- "svydesign(id=~dnum, fpc=~fpc, data=apiclus1)"
D <- run(dfc)
add("apiclus1_fpc_noweights.design", F_CLUS1, dfc, "weights(D)",
  list(weights = unique(as.numeric(weights(D))), sum_weights = sum(weights(D)), df = degf(D)))
for (cl in c("svytotal(~enroll, D)", "svymean(~api00, D)")) {
  add(sprintf("apiclus1_fpc_noweights.%s", sub("\\(~([a-z0-9.]+).*", "_\\1", cl)),
    F_CLUS1, dfc, cl, stat_values(run(cl), D))
}

# 4. Replicate-weight designs ------------------------------------------------------------------
dc1 <- "svydesign(id=~dnum, weights=~pw, data=apiclus1, fpc=~fpc)"
dclus1 <- run(dc1)
ds <- "svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat, fpc=~fpc)"
dstrat <- run(ds)

rep_info <- function(rd) {
  list(
    type = rd$type, scale = rd$scale, rscales = as.numeric(rd$rscales), mse = rd$mse,
    replicates = ncol(rd$repweights), df = degf(rd)
  )
}
rep_estimators <- function(prefix, data, dcall, rd, setup = NULL, notes = NULL, by = TRUE) {
  assign("D", rd, envir = globalenv())
  add(paste0(prefix, ".design"), data, dcall, "D$type; D$scale; D$rscales; D$mse; degf(D)",
    rep_info(rd), setup = setup, notes = notes)
  calls <- c(
    svymean_api00 = "svymean(~api00, D)",
    svymean_api00_api99 = "svymean(~api00+api99, D)",
    svytotal_enroll = "svytotal(~enroll, D, na.rm=TRUE)",
    svymean_sch.wide = "svymean(~sch.wide, D)",
    svymean_api00_mse = "svymean(~api00, D, return.replicates=FALSE); D$mse <- TRUE"
  )
  for (k in names(calls)[1:4]) {
    add(paste0(prefix, ".", k), data, dcall, calls[[k]], stat_values(run(calls[[k]]), rd),
      setup = setup, notes = notes)
  }
  # the other centring (mse = !default)
  Dm <- rd
  Dm$mse <- !rd$mse
  assign("Dm", Dm, envir = globalenv())
  cl <- "svymean(~api00, Dm)"
  add(paste0(prefix, ".svymean_api00_mse_", tolower(as.character(Dm$mse))), data,
    paste0(dcall, "; Dm <- D; Dm$mse <- ", Dm$mse), cl, stat_values(run(cl), Dm),
    setup = setup,
    notes = c(notes, "mse=TRUE centres the replicates at the full-sample estimate, FALSE at their mean"))
  cl <- "svyratio(~api.stu, ~enroll, D, na.rm=TRUE)"
  r <- run(cl)
  add(paste0(prefix, ".svyratio_api.stu_enroll"), data, dcall, cl,
    list(estimate = as.numeric(coef(r)), se = as.numeric(SE(r))), setup = setup, notes = notes)
  cl <- "svyquantile(~api00, D, c(0.25, 0.5, 0.75), ci=TRUE)"
  add(paste0(prefix, ".svyquantile_api00"), data, dcall, cl, quantile_values(run(cl), rd),
    setup = setup,
    notes = c(notes, "replicate designs: interval.type='mean' (default) = Woodruff-type interval from the replicate SE of the CDF at the quantile"))
  cl <- "svyquantile(~api00, D, c(0.5), ci=TRUE, interval.type='quantile')"
  add(paste0(prefix, ".svyquantile_api00_median_replicated"), data, dcall, cl,
    quantile_values(run(cl), rd), setup = setup,
    notes = c(notes, "interval.type='quantile': SE of the quantile itself over the replicates"))
  if (by) {
    cl <- "svyby(~api00, ~stype, D, svymean, covmat=TRUE)"
    add(paste0(prefix, ".svyby_api00_by_stype"), data, dcall, cl, by_values(run(cl), rd),
      setup = setup, notes = notes)
  }
  cl <- "svyglm(api00 ~ ell + meals + mobility, design=D)"
  add(paste0(prefix, ".svyglm_api00"), data, dcall, cl, glm_values(run(cl)),
    setup = setup, notes = notes)
}

ids1 <- apiclus1[, c("snum", "dnum", "pw")]

# JK1 from the one-stage cluster sample (fpc enters rscales)
rc <- "as.svrepdesign(dclus1, type='JK1')"
r_jk1 <- run(rc)
rep_estimators("apiclus1_JK1", F_CLUS1, paste0("dclus1 <- ", dc1, "; D <- ", rc), r_jk1)
write_ref_csv(rep_frame(r_jk1, ids1), "rep_apiclus1_jk1.csv")

# bootstrap (Canty-Davison) from the same design, seeded; the replicate weights are frozen
rc <- "set.seed(20240515); as.svrepdesign(dclus1, type='bootstrap', replicates=50)"
r_boot <- run(rc)
rep_estimators("apiclus1_bootstrap", F_CLUS1, paste0("dclus1 <- ", dc1, "; D <- {", rc, "}"), r_boot,
  notes = "random: use the frozen replicate analysis weights data/rep_apiclus1_bootstrap.csv")
write_ref_csv(rep_frame(r_boot, ids1), "rep_apiclus1_bootstrap.csv")

# subbootstrap (Rao-Wu n-1 rescaling bootstrap)
rc <- "set.seed(20240516); as.svrepdesign(dclus1, type='subbootstrap', replicates=50)"
r_sub <- run(rc)
rep_estimators("apiclus1_subbootstrap", F_CLUS1, paste0("dclus1 <- ", dc1, "; D <- {", rc, "}"), r_sub,
  notes = "random: use the frozen replicate analysis weights data/rep_apiclus1_subbootstrap.csv")
write_ref_csv(rep_frame(r_sub, ids1), "rep_apiclus1_subbootstrap.csv")

# multistage rescaled bootstrap (Preston 2009) of the two-stage design
rc <- "set.seed(20240517); as.svrepdesign(dclus2, type='mrbbootstrap', replicates=50)"
r_mrb <- tryCatch(run(rc), error = function(e) e)
if (inherits(r_mrb, "error")) {
  add("apiclus2_mrbbootstrap.error", F_CLUS2, dc2, rc, list(error = conditionMessage(r_mrb)))
} else {
  rep_estimators("apiclus2_mrbbootstrap", F_CLUS2, paste0("dclus2 <- ", dc2, "; D <- {", rc, "}"),
    r_mrb, notes = "random: use the frozen replicate analysis weights data/rep_apiclus2_mrbbootstrap.csv")
  write_ref_csv(rep_frame(r_mrb, apiclus2[, c("snum", "dnum", "pw")]), "rep_apiclus2_mrbbootstrap.csv")
}

# JKn from the stratified sample (deterministic: delete one school, reweight its stratum)
rc <- "as.svrepdesign(dstrat, type='JKn')"
r_jkn <- run(rc)
rep_estimators("apistrat_JKn", F_STRAT, paste0("dstrat <- ", ds, "; D <- ", rc), r_jkn,
  notes = "replicate r deletes school r (data order): its stratum's other weights x n_h/(n_h-1); rscales = (1-f_h)(n_h-1)/n_h; not frozen (200 x 200), rebuild it")

# BRR and Fay on a design with two PSUs per stratum built from apistrat
setup_half <- paste(
  "hs <- apistrat[order(apistrat$stype, apistrat$snum), ]",
  "hs$rank <- ave(seq_len(nrow(hs)), hs$stype, FUN=seq_along)",
  "hs$vstrat <- paste0(hs$stype, sprintf('%02d', (hs$rank - 1) %/% 10 + 1))",
  "hs$vpsu <- (hs$rank - 1) %% 2 + 1",
  sep = "; "
)
run(setup_half)
dh <- "svydesign(id=~vpsu, strata=~vstrat, nest=TRUE, weights=~pw, data=hs)"
dhalf <- run(dh)
hs_ids <- hs[, c("snum", "stype", "vstrat", "vpsu", "pw")]
basic("apistrat_halfsample", F_STRAT, dh, dhalf, setup = setup_half,
  notes = "variance strata of 10 consecutive schools (by stype, snum) with 2 PSUs each (alternating); 20 strata; see data/rep_apistrat_brr.csv for the vstrat/vpsu of every snum")
rc <- "as.svrepdesign(dhalf, type='BRR')"
r_brr <- run(rc)
rep_estimators("apistrat_halfsample_BRR", F_STRAT, paste0("dhalf <- ", dh, "; D <- ", rc), r_brr,
  setup = setup_half, notes = "replicates from R's Hadamard matrix; frozen in data/rep_apistrat_brr.csv")
write_ref_csv(rep_frame(r_brr, hs_ids), "rep_apistrat_brr.csv")
rc <- "as.svrepdesign(dhalf, type='Fay', fay.rho=0.3)"
r_fay <- run(rc)
rep_estimators("apistrat_halfsample_Fay", F_STRAT, paste0("dhalf <- ", dh, "; D <- ", rc), r_fay,
  setup = setup_half, notes = "Fay's BRR, rho = 0.3; frozen in data/rep_apistrat_fay.csv")
write_ref_csv(rep_frame(r_fay, hs_ids), "rep_apistrat_fay.csv")

# the scd example of ?svrepdesign (3 strata x 2 ambulance PSUs)
dscd <- "svydesign(data=scd, prob=~1, id=~ambulance, strata=~ESA, nest=TRUE)"
scdnofpc <- run(dscd)
for (tp in c("BRR", "Fay")) {
  rc <- if (tp == "BRR") "as.svrepdesign(scdnofpc, type='BRR')" else "as.svrepdesign(scdnofpc, type='Fay', fay.rho=0.3)"
  D <- run(rc)
  dcall <- paste0("scdnofpc <- ", dscd, "; D <- ", rc)
  add(sprintf("scd_%s.design", tp), F_SCD, dcall, "D$scale; D$rscales; weights(D, 'analysis')",
    c(rep_info(D), list(repweights = mat(weights(D, type = "analysis")))))
  cl <- "svyratio(~alive, ~arrests, D)"
  r <- run(cl)
  add(sprintf("scd_%s.svyratio_alive_arrests", tp), F_SCD, dcall, cl,
    list(estimate = as.numeric(coef(r)), se = as.numeric(SE(r))))
  cl <- "svytotal(~alive+arrests, D)"
  add(sprintf("scd_%s.svytotal_alive_arrests", tp), F_SCD, dcall, cl, stat_values(run(cl), D))
}
D <- scdnofpc
cl <- "svyratio(~alive, ~arrests, D)"
r <- run(cl)
add("scd_linearised.svyratio_alive_arrests", F_SCD, dscd, cl,
  list(estimate = as.numeric(coef(r)), se = as.numeric(SE(r))))

# successive difference replication: user-supplied factors built from a Hadamard matrix
setup_sdr <- paste(
  "H <- 2 * survey:::hadamard(79) - 1; R <- ncol(H); o <- order(apistrat$snum)",
  "f <- matrix(NA, nrow(apistrat), R)",
  "for (j in seq_along(o)) f[o[j], ] <- 1 + 2^(-1.5) * (H[(j - 1) %% R + 1, ] - H[j %% R + 1, ])",
  "sdr <- apistrat[, c('snum', 'stype', 'pw')]; sdr[paste0('rep', seq_len(R))] <- round(f * apistrat$pw, 4)",
  sep = "; "
)
run(setup_sdr)
if (R != 80) stop("expected an 80 x 80 Hadamard matrix")
sdr_note <- "successive differences (Fay & Train 1995), circular as in the ACS: schools in snum order; school j (1..200) gets factor 1 + 2^-1.5 (h[a] - h[b]) with rows a = (j-1) mod 80 + 1, b = j mod 80 + 1 of R's +-1 Hadamard matrix of order 80; replicate weights pw x factor rounded to 4 decimals (as a public-use file carries them) BEFORE R used them; scale 4/R"
ssdr <- "svrepdesign(data=cbind(apistrat, sdr[, -(1:3)]), repweights='rep[0-9]+', weights=~pw, type='successive-difference', combined.weights=TRUE, mse=TRUE)"
D <- tryCatch(run(ssdr), error = function(e) e)
if (inherits(D, "error")) {
  add("apistrat_SDR.error", F_STRAT, ssdr, ssdr, list(error = conditionMessage(D)), setup = setup_sdr)
} else {
  rep_estimators("apistrat_SDR", F_STRAT, ssdr, D, setup = setup_sdr,
    notes = c(sdr_note, "frozen in data/rep_apistrat_sdr.csv"))
  write_ref_csv(sdr, "rep_apistrat_sdr.csv")
}

# user-supplied replicate columns (as a public-use file carries them) ---------------------------
setup_user <- "boot <- read.csv('tests/reference/data/rep_apiclus1_bootstrap.csv'); apiclus1_rep <- merge(apiclus1, boot[, c('snum', grep('^rep', names(boot), value=TRUE))], by='snum', sort=FALSE); apiclus1_rep <- apiclus1_rep[match(apiclus1$snum, apiclus1_rep$snum), ]"
run(setup_user)
for (mse in c(TRUE, FALSE)) {
  su <- sprintf("svrepdesign(data=apiclus1_rep, repweights='rep[0-9]+', weights=~pw, type='bootstrap', combined.weights=TRUE, mse=%s)", mse)
  D <- run(su)
  for (cl in c("svymean(~api00, D)", "svytotal(~enroll, D)")) {
    add(sprintf("apiclus1_user_bootstrap_mse_%s.%s", tolower(mse), sub("\\(~([a-z0-9.]+).*", "_\\1", cl)),
      "data/rep_apiclus1_bootstrap.csv", su, cl, c(stat_values(run(cl), D), list(scale = D$scale)),
      setup = setup_user, notes = "main data in data/survey_apiclus1.csv, replicate analysis weights in data/rep_apiclus1_bootstrap.csv (joined on snum)")
  }
}
setup_user_jk1 <- "jk <- read.csv('tests/reference/data/rep_apiclus1_jk1.csv'); apiclus1_jk <- cbind(apiclus1, jk[match(apiclus1$snum, jk$snum), grep('^rep', names(jk))])"
run(setup_user_jk1)
for (variant in c("JK1", "other", "multiplier")) {
  su <- switch(variant,
    JK1 = "svrepdesign(data=apiclus1_jk, repweights='rep[0-9]+', weights=~pw, type='JK1', combined.weights=TRUE, mse=TRUE)",
    other = "svrepdesign(data=apiclus1_jk, repweights='rep[0-9]+', weights=~pw, type='other', scale=14/15, rscales=1-15/757, combined.weights=TRUE, mse=FALSE)",
    multiplier = "svrepdesign(data=transform(apiclus1_jk, pw=pw), repweights=as.matrix(apiclus1_jk[grep('^rep', names(apiclus1_jk))]) / apiclus1_jk$pw, weights=~pw, type='JK1', combined.weights=FALSE, mse=TRUE)"
  )
  D <- run(su)
  for (cl in c("svymean(~api00, D)", "svytotal(~enroll, D)")) {
    add(sprintf("apiclus1_user_jk1_%s.%s", variant, sub("\\(~([a-z0-9.]+).*", "_\\1", cl)),
      "data/rep_apiclus1_jk1.csv", su, cl,
      c(stat_values(run(cl), D), list(scale = D$scale, rscales = unique(as.numeric(D$rscales)))),
      setup = setup_user_jk1,
      notes = switch(variant,
        JK1 = "type='JK1' from columns: scale (n-1)/n, rscales 1 (no fpc known to R)",
        other = "type='other' with scale (n-1)/n, rscales 1 - n/N and mse=FALSE (the default of as.svrepdesign): reproduces apiclus1_JK1",
        multiplier = "combined.weights=FALSE: the columns are multipliers of pw (rep / pw)"))
  }
}

# 5. Raking and calibration --------------------------------------------------------------------
setup_pop <- paste(
  "pop.types <- as.data.frame(table(stype=apipop$stype))",
  "pop.schwide <- as.data.frame(table(sch.wide=apipop$sch.wide))",
  sep = "; "
)
run(setup_pop)
add("apipop.margins", F_POP, "apipop", setup_pop, list(
  stype = as.list(setNames(pop.types$Freq, pop.types$stype)),
  sch.wide = as.list(setNames(pop.schwide$Freq, pop.schwide$sch.wide)),
  N = nrow(apipop), total_api99 = sum(apipop$api99), total_enroll = sum(apipop$enroll, na.rm = TRUE)
))

calib_block <- function(prefix, data, dcall, D, setup, note) {
  assign("D", D, envir = globalenv())
  calls <- c(
    svymean_api00 = "svymean(~api00, D)",
    svytotal_enroll = "svytotal(~enroll, D, na.rm=TRUE)",
    svymean_sch.wide = "svymean(~sch.wide, D)",
    svytotal_api.stu = "svytotal(~api.stu, D)"
  )
  for (k in names(calls)) {
    add(paste0(prefix, ".", k), data, dcall, calls[[k]], stat_values(run(calls[[k]]), D),
      setup = setup, notes = note)
  }
  cl <- "svyby(~api00, ~stype, D, svymean)"
  add(paste0(prefix, ".svyby_api00_by_stype"), data, dcall, cl, by_values(run(cl), D),
    setup = setup, notes = c(note, "svyby(covmat=TRUE) fails on calibrated designs in survey 4.1 (error in inflmats); the joint covariance is in .domain_means_api00_by_stype"))
  cl <- domain_means_call("api00", "stype", c("E", "H", "M"))
  add(paste0(prefix, ".domain_means_api00_by_stype"), data, dcall, cl, stat_values(run(cl), D),
    setup = setup, notes = c(note, "domain means as ratios of totals y_k = sum w api00 1{stype=k}, n_k = sum w 1{stype=k}: same estimates and SEs as svyby, plus their covariance"))
  cl <- sprintf("svycontrast(%s, quote(Yes - No))", domain_means_call("api00", "sch.wide", c("No", "Yes")))
  add(paste0(prefix, ".domain_diff_api00_sch.wide_Yes_minus_No_via_totals"), data, dcall, cl,
    stat_values(run(cl), D), setup = setup, notes = note)
  cl <- "svyquantile(~api00, D, c(0.25, 0.5, 0.75), ci=TRUE)"
  add(paste0(prefix, ".svyquantile_api00"), data, dcall, cl, quantile_values(run(cl), D),
    setup = setup, notes = note)
}

# rake() of apiclus1 to stype and sch.wide; tight convergence (rake's default epsilon = 1 stops early)
rk <- "rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide), control=list(maxit=100, epsilon=1e-12))"
sp <- paste0(setup_pop, "; dclus1 <- ", dc1)
dclus1r <- run(rk)
calib_block("apiclus1_raked", F_CLUS1, rk, dclus1r, sp,
  "calibration-aware (linearisation with the raking residuals)")
rk0 <- "rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide))"
dclus1r0 <- run(rk0)
add("apiclus1_raked_default_control.svymean_api00", F_CLUS1, rk0, "svymean(~api00, D)",
  c(stat_values(svymean(~api00, dclus1r0), dclus1r0),
    list(max_abs_weight_diff_vs_tight = max(abs(weights(dclus1r0) - weights(dclus1r))))),
  setup = sp, notes = "rake() with its default control (maxit=10, epsilon=1): not fully converged")
setup_fixed <- paste0(sp, "; apiclus1$w_raked <- weights(", rk, ")")
run(setup_fixed)
dfix <- "svydesign(id=~dnum, weights=~w_raked, data=apiclus1, fpc=~fpc)"
calib_block("apiclus1_raked_fixed", F_CLUS1, dfix, run(dfix), setup_fixed,
  "the raked weights treated as fixed design weights (what ignoring the raking gives)")

# calibrate(): linear (GREG) and raking calfun with population totals of stype and api99
setup_cal <- paste0(
  "dclus1 <- ", dc1, "; ",
  "pop.totals <- c(`(Intercept)`=nrow(apipop), stypeH=sum(apipop$stype=='H'), stypeM=sum(apipop$stype=='M'), api99=sum(apipop$api99))"
)
run(setup_cal)
cal_lin <- "calibrate(dclus1, ~stype+api99, pop.totals, calfun='linear')"
dclus1g <- run(cal_lin)
calib_block("apiclus1_cal_linear", F_CLUS1, cal_lin, dclus1g, setup_cal, "GREG calibration")
cal_rk <- "calibrate(dclus1, ~stype+api99, pop.totals, calfun='raking', epsilon=1e-12, maxit=200)"
dclus1k <- run(cal_rk)
calib_block("apiclus1_cal_raking", F_CLUS1, cal_rk, dclus1k, setup_cal, "calibration with the raking (exponential) distance")
cal_b <- "calibrate(dclus1, ~stype+api99, pop.totals, calfun='linear', bounds=c(0.5, 2), epsilon=1e-12, maxit=200)"
dclus1b <- tryCatch(run(cal_b), error = function(e) e)
if (!inherits(dclus1b, "error")) {
  calib_block("apiclus1_cal_linear_bounded", F_CLUS1, cal_b, dclus1b, setup_cal,
    "bounded linear calibration: g-weights within [0.5, 2]")
}
setup_fixed2 <- paste0(setup_cal, "; apiclus1$w_cal <- weights(", cal_lin, ")")
run(setup_fixed2)
dfix2 <- "svydesign(id=~dnum, weights=~w_cal, data=apiclus1, fpc=~fpc)"
calib_block("apiclus1_cal_linear_fixed", F_CLUS1, dfix2, run(dfix2), setup_fixed2,
  "the GREG weights treated as fixed design weights")

# raking the stratified sample to sch.wide and awards (stype is the strata)
setup_rs <- paste0(
  "dstrat <- ", ds, "; ",
  "pop.schwide <- as.data.frame(table(sch.wide=apipop$sch.wide)); pop.awards <- as.data.frame(table(awards=apipop$awards))"
)
run(setup_rs)
rks <- "rake(dstrat, list(~sch.wide, ~awards), list(pop.schwide, pop.awards), control=list(maxit=100, epsilon=1e-12))"
dstratr <- run(rks)
calib_block("apistrat_raked", F_STRAT, rks, dstratr, setup_rs, "calibration-aware")
setup_fixed3 <- paste0(setup_rs, "; apistrat$w_raked <- weights(", rks, ")")
run(setup_fixed3)
dfix3 <- "svydesign(id=~1, strata=~stype, weights=~w_raked, data=apistrat, fpc=~fpc)"
calib_block("apistrat_raked_fixed", F_STRAT, dfix3, run(dfix3), setup_fixed3,
  "the raked weights treated as fixed design weights")

# raked replicate design: JK1 replicates raked each (as.svrepdesign then rake)
rkr <- "rake(as.svrepdesign(dclus1, type='JK1'), list(~stype, ~sch.wide), list(pop.types, pop.schwide), control=list(maxit=100, epsilon=1e-12))"
calib_block("apiclus1_JK1_raked", F_CLUS1, rkr, run(rkr), sp,
  "replicate design raked: every replicate is raked again (replicate-based calibration SE)")

# frozen final weights
fw <- data.frame(
  snum = apiclus1$snum, dnum = apiclus1$dnum, pw = apiclus1$pw,
  w_raked = weights(dclus1r), w_raked_default_control = weights(dclus1r0),
  w_cal_linear = weights(dclus1g), w_cal_raking = weights(dclus1k)
)
if (!inherits(dclus1b, "error")) fw$w_cal_linear_bounded <- weights(dclus1b)
write_ref_csv(fw, "calibrated_apiclus1_weights.csv")
write_ref_csv(data.frame(snum = apistrat$snum, stype = apistrat$stype, pw = apistrat$pw,
  w_raked = weights(dstratr)), "calibrated_apistrat_weights.csv")

# 6. Quantiles: rules and interval types --------------------------------------------------------
D <- dstrat
for (it in c("mean", "beta", "xlogit", "asin", "score")) {
  cl <- sprintf("svyquantile(~api00+enroll, D, c(0.25, 0.5, 0.75), ci=TRUE, interval.type='%s')", it)
  res <- tryCatch(quantile_values(run(cl), D), error = function(e) list(error = conditionMessage(e)))
  add(sprintf("apistrat.svyquantile_%s", it), F_STRAT, ds, cl, res,
    notes = "default qrule='math' (inverse of the weighted step CDF); interval from the CDF CI mapped back through the same rule: endpoints are data values")
}
for (qr in c("math", "school", "shahvaish", "hf1", "hf2", "hf3", "hf4", "hf5", "hf6", "hf7", "hf8", "hf9")) {
  cl <- sprintf("svyquantile(~api00+enroll, D, c(0.1, 0.25, 0.5, 0.75, 0.9), ci=TRUE, qrule='%s')", qr)
  res <- tryCatch(quantile_values(run(cl), D), error = function(e) list(error = conditionMessage(e)))
  add(sprintf("apistrat.svyquantile_qrule_%s", qr), F_STRAT, ds, cl, res)
}
# the Woodruff steps behind the default median interval, for a hand check
cl <- "svyquantile(~api00, D, 0.5, ci=TRUE)"
qm <- run(cl)[["api00"]]
med <- qm[1, 1]
Fq <- svymean(~I(api00 <= med), D)
tq <- qt(0.975, degf(D))
cdf_cl <- sprintf("svymean(~I(api00 <= %s), D)", format(med))
add("apistrat.svyquantile_median_woodruff_steps", F_STRAT, ds, paste(cl, "; ", cdf_cl), list(
  median = med, ci_lower = qm[1, 2], ci_upper = qm[1, 3], se = qm[1, 4],
  cdf_at_median = as.numeric(coef(svymean(~I(api00 < med), D))[1]),
  cdf_at_median_le = as.numeric(coef(Fq)[2]), se_cdf = as.numeric(SE(Fq)[2]),
  p_lower = as.numeric(coef(Fq)[2] - tq * SE(Fq)[2]), p_upper = as.numeric(coef(Fq)[2] + tq * SE(Fq)[2]),
  t_quantile = tq, df = degf(D),
  se_from_ci = (qm[1, 3] - qm[1, 2]) / (2 * tq)
), notes = paste(
  "Woodruff (1952) as survey 4.1 does it (interval.type='mean'): cdf_at_median_le and se_cdf = svymean of 1{api00 <= median} (cdf_at_median: strict <, for information);",
  "p_lower/p_upper = cdf_at_median_le -/+ qt(0.975, degf) * se_cdf (centred at the estimated CDF at the median, not at 0.5; woodruffCI); ci_lower/ci_upper = the qrule='math' quantiles at p_lower/p_upper",
  "(so the interval endpoints are data values: R's 'rounding'); se = (ci_upper - ci_lower) / (2 qt(0.975, degf))"
))
cl <- "svyquantile(~api00, D, c(0.5), ci=TRUE, alpha=0.1)"
add("apistrat.svyquantile_median_90", F_STRAT, ds, cl, quantile_values(run(cl), D))
cl <- "svyby(~api00, ~sch.wide, D, svyquantile, quantiles=0.5, ci=TRUE, covmat=FALSE)"
res <- tryCatch(by_values(run(cl), D), error = function(e) list(error = conditionMessage(e)))
add("apistrat.svyby_median_api00_by_sch.wide", F_STRAT, ds, cl, res)
cl <- "oldsvyquantile(~api00, D, c(0.25, 0.5, 0.75), ci=TRUE)"
oq <- run(cl)
add("apistrat.oldsvyquantile_api00", F_STRAT, ds, cl, list(
  quantile = as.numeric(oq$quantiles), ci = mat(matrix(oq$CIs, ncol = 2, byrow = TRUE)),
  se = as.numeric(SE(oq))
), notes = "pre-4.0 svyquantile (method='linear', ties='discrete', interval.type='Wald'), for comparison")
D <- dclus1
cl <- "svyquantile(~api00+enroll, D, c(0.25, 0.5, 0.75), ci=TRUE)"
add("apiclus1.svyquantile_api00_enroll", F_CLUS1, dc1, cl, quantile_values(run(cl), D))

write_entries("r_survey_designs.json",
  "Issue 15 references from R survey (multi-stage, lonely PSU, fpc without weights, replicate weights, raking/calibration, quantiles). Entry keys: '<design>.<statistic>'. Each entry: data (file under tests/reference/), software, version, design_call (the design D), optional setup (R code run first) and options, call (evaluated with D), values, tolerance, notes. Produced by tests/reference/r/survey_designs.R.")
