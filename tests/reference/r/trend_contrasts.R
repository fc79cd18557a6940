# Issue 16 references: difference in differences of domain means and the mix / rate
# decomposition of a KPI change between two waves, with design-based SEs (svycontrast, delta
# method), on R survey's `api` data with a fake wave split and on two stacked independent waves.
# Writes tests/reference/r_trend_contrasts.json. Run from the repository root:
#   Rscript tests/reference/r/trend_contrasts.R
source("tests/reference/r/_common.R")
data(api)
run(SETUP_DERIVED)
F_DER <- "data/survey_api_derived.csv"
F_STRAT <- "data/survey_apistrat.csv"
F_CLUS1 <- "data/survey_apiclus1.csv"

# 1. Difference in differences within one design (fake waves = comp.imp) ----------------------
ds <- "svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat, fpc=~fpc)"
D <- run(ds)
A <- function(name, call, values, notes = NULL, data = F_STRAT, dcall = ds, setup = SETUP_DERIVED) {
  add(name, data, dcall, call, values, notes = c(notes, DERIVED_NOTE), setup = setup,
    data_extra = F_DER)
}
cl <- "svyby(~targeted+untargeted, ~wave, D, svymean, covmat=TRUE)"
A("apistrat_fakewave.domain_means", cl, by_values(run(cl), D),
  "wave = w1 (comp.imp No) / w2 (comp.imp Yes) of one stratified sample: the waves share strata, so their estimates covary")
cl <- "svycontrast(svyby(~targeted+untargeted, ~wave, D, svymean, covmat=TRUE), list(change_targeted=c(-1, 1, 0, 0), change_untargeted=c(0, 0, -1, 1), did=c(-1, 1, 1, -1)))"
A("apistrat_fakewave.did", cl, stat_values(run(cl), D), c(
  "coefficient order of svyby: w1:targeted, w2:targeted, w1:untargeted, w2:untargeted",
  "did = (targeted w2 - targeted w1) - (untargeted w2 - untargeted w1)"
))
cl <- "svycontrast(svyby(~did_diff, ~wave, D, svymean, covmat=TRUE), c(-1, 1))"
A("apistrat_fakewave.did_via_respondent_difference", cl, stat_values(run(cl), D),
  "the same DiD from the per-respondent difference targeted - untargeted: identical estimate and SE")
cl <- "svyttest(did_diff ~ wave, D)"
A("apistrat_fakewave.did_svyttest", cl, test_values(run(cl)), "t-test form of the DiD (df = degf(D) - 1)")
cl <- "svycontrast(svyby(~targeted+untargeted, ~wave, D, svymean, covmat=TRUE), list(csi_change=c(-0.6, 0.6, -0.4, 0.4)))"
A("apistrat_fakewave.weighted_area_change", cl, stat_values(run(cl), D),
  "a CSI-type index = 0.6 targeted + 0.4 untargeted: its change w2 - w1 = sum_a weight_a x change_a")

# DiD by segment (the action targeted one segment): (targeted - untargeted change) in E minus in M
cl <- "svyby(~did_diff, ~wave+stype, D, svymean, covmat=TRUE)"
A("apistrat_fakewave.did_diff_by_wave_stype", cl, by_values(run(cl), D),
  "order: wave varies fastest (w1.E, w2.E, w1.H, w2.H, w1.M, w2.M)")
cl <- "svycontrast(svyby(~did_diff, ~wave+stype, D, svymean, covmat=TRUE), list(did_E=c(-1, 1, 0, 0, 0, 0), did_H=c(0, 0, -1, 1, 0, 0), did_M=c(0, 0, 0, 0, -1, 1), did_E_minus_M=c(-1, 1, 0, 0, 1, -1)))"
A("apistrat_fakewave.did_by_stype", cl, stat_values(run(cl), D))

# 2. Two independent waves stacked in one design: w1 = apistrat (stratified), w2 = apiclus1 ---
setup_stack <- paste(
  SETUP_DERIVED,
  "cols <- c('snum', 'dnum', 'stype', 'api00', 'meals_band', 'targeted', 'untargeted', 'did_diff', 'pw', 'fpc')",
  "s1 <- apistrat[, cols]; s1$wave <- 'w1'; s1$psu <- paste0('s', s1$snum); s1$vstrat <- paste0('w1.', s1$stype)",
  "s2 <- apiclus1[, cols]; s2$wave <- 'w2'; s2$psu <- paste0('d', s2$dnum); s2$vstrat <- 'w2'",
  "stacked <- rbind(s1, s2); stacked$wave <- factor(stacked$wave)",
  sep = "; "
)
run(setup_stack)
dst <- "svydesign(id=~psu, strata=~vstrat, fpc=~fpc, weights=~pw, data=stacked, nest=TRUE)"
D <- run(dst)
S <- function(name, call, values, notes = NULL) {
  add(name, F_STRAT, dst, call, values, notes = c(notes,
    "stacked: wave w1 = apistrat (strata stype, fpc = stratum size), wave w2 = apiclus1 (one-stage cluster sample of districts dnum, fpc = 757), both with their pw; the waves are independent",
    DERIVED_NOTE), setup = setup_stack, data_extra = list(F_CLUS1, F_DER))
}
cl <- "svyby(~targeted+untargeted, ~wave, D, svymean, covmat=TRUE)"
S("stacked.domain_means", cl, by_values(run(cl), D))
cl <- "svycontrast(svyby(~targeted+untargeted, ~wave, D, svymean, covmat=TRUE), list(change_targeted=c(-1, 1, 0, 0), change_untargeted=c(0, 0, -1, 1), did=c(-1, 1, 1, -1)))"
S("stacked.did", cl, stat_values(run(cl), D))
cl <- "svyby(~api00, ~wave, D, svymean, covmat=TRUE)"
S("stacked.kpi_by_wave", cl, by_values(run(cl), D))
cl <- "svycontrast(svyby(~api00, ~wave, D, svymean, covmat=TRUE), c(-1, 1))"
S("stacked.kpi_change", cl, stat_values(run(cl), D))

# 3. Mix / rate decomposition of the api00 change by segment meals_band ------------------------
lev <- c("0-25", "26-50", "51-75", "76-100")
g <- paste0("g", 1:4)
cells <- expand.grid(g = seq_along(lev), w = 1:2)
ck <- sprintf("%s_w%d", g[cells$g], cells$w)
parts <- c(
  sprintf("y_%s=api00*(meals_band=='%s')*(wave=='w%d')", ck, lev[cells$g], cells$w),
  sprintf("n_%s=as.numeric(meals_band=='%s')*(wave=='w%d')", ck, lev[cells$g], cells$w)
)
upd <- sprintf("update(D, %s)", paste(parts, collapse = ", "))
tot <- sprintf("svytotal(~%s, %s)", paste(c(paste0("y_", ck), paste0("n_", ck)), collapse = "+"), upd)
N_w <- function(w) paste(sprintf("n_%s_w%d", g, w), collapse = "+")
m_ <- function(k, w) sprintf("(y_%s_w%d/n_%s_w%d)", g[k], w, g[k], w)
s_ <- function(k, w) sprintf("(n_%s_w%d/(%s))", g[k], w, N_w(w))
mean_w <- function(w) sprintf("(%s)/(%s)", paste(sprintf("y_%s_w%d", g, w), collapse = "+"), N_w(w))
ex <- list()
for (w in 1:2) for (k in 1:4) ex[[sprintf("mean_%s_w%d", lev[k], w)]] <- m_(k, w)
for (w in 1:2) for (k in 1:4) ex[[sprintf("share_%s_w%d", lev[k], w)]] <- s_(k, w)
ex_txt <- function(ex) paste(sprintf("`%s`=quote(%s)", names(ex), unlist(ex)), collapse = ", ")
cl <- sprintf("svycontrast(%s, list(%s))", tot, ex_txt(ex))
S("stacked.mix_rate.domain_means_and_shares", cl, stat_values(run(cl), D),
  "segment means m_gw = Y_gw / N_gw and shares s_gw = N_gw / N_w per wave, with their joint covariance")
dec <- list(
  total_change = sprintf("%s - %s", mean_w(2), mean_w(1)),
  rate_symmetric = paste(sapply(1:4, function(k) sprintf("(%s+%s)/2*(%s-%s)", s_(k, 1), s_(k, 2), m_(k, 2), m_(k, 1))), collapse = " + "),
  mix_symmetric = paste(sapply(1:4, function(k) sprintf("(%s+%s)/2*(%s-%s)", m_(k, 1), m_(k, 2), s_(k, 2), s_(k, 1))), collapse = " + "),
  rate_base_shares = paste(sapply(1:4, function(k) sprintf("%s*(%s-%s)", s_(k, 1), m_(k, 2), m_(k, 1))), collapse = " + "),
  mix_current_means = paste(sapply(1:4, function(k) sprintf("%s*(%s-%s)", m_(k, 2), s_(k, 2), s_(k, 1))), collapse = " + ")
)
for (k in 1:4) {
  dec[[sprintf("rate_%s", lev[k])]] <- sprintf("(%s+%s)/2*(%s-%s)", s_(k, 1), s_(k, 2), m_(k, 2), m_(k, 1))
  dec[[sprintf("mix_%s", lev[k])]] <- sprintf("(%s+%s)/2*(%s-%s)", m_(k, 1), m_(k, 2), s_(k, 2), s_(k, 1))
  dec[[sprintf("mix_centred_%s", lev[k])]] <- sprintf("((%s+%s)/2-(%s+%s)/2)*(%s-%s)", m_(k, 1), m_(k, 2), mean_w(1), mean_w(2), s_(k, 2), s_(k, 1))
}
cl <- sprintf("svycontrast(%s, list(%s))", tot, ex_txt(dec))
res <- run(cl)
v <- stat_values(res, D)
v$check_rate_plus_mix_minus_total <- as.numeric(coef(res)["rate_symmetric"] + coef(res)["mix_symmetric"] - coef(res)["total_change"])
S("stacked.mix_rate.decomposition", cl, v, c(
  "KPI mean M_w = sum_g s_gw m_gw; change M_2 - M_1 = rate + mix exactly.",
  "symmetric (Kitagawa 1955): rate = sum_g (s_g1 + s_g2)/2 (m_g2 - m_g1); mix = sum_g (m_g1 + m_g2)/2 (s_g2 - s_g1); rate_<g>, mix_<g> are the per-segment terms; mix_centred_<g> = ((m_g1 + m_g2)/2 - (M_1 + M_2)/2)(s_g2 - s_g1) also sums to mix_symmetric (sum_g of s_g2 - s_g1 is 0) and is the readable per-segment mix effect.",
  "base-weighted variant: rate_base_shares = sum_g s_g1 (m_g2 - m_g1); mix_current_means = sum_g m_g2 (s_g2 - s_g1); they also add up to total_change.",
  "SEs: delta method on the domain totals Y_gw = sum w api00 1{g, w}, N_gw = sum w 1{g, w} (svycontrast)."
))

# the same decomposition within the single stratified design (fake waves share strata)
D <- run(ds)
upd1 <- gsub("wave=='w([12])'", "wave=='w\\1'", upd)
cl <- sprintf("svycontrast(%s, list(%s))", sprintf("svytotal(~%s, %s)", paste(c(paste0("y_", ck), paste0("n_", ck)), collapse = "+"), upd1), ex_txt(dec[c("total_change", "rate_symmetric", "mix_symmetric", "rate_base_shares", "mix_current_means")]))
A("apistrat_fakewave.mix_rate.decomposition", cl, stat_values(run(cl), D),
  "as stacked.mix_rate.decomposition, on one design whose waves share strata (covariances between waves)")

write_entries("r_trend_contrasts.json",
  "Issue 16 references from R survey: difference in differences and mix/rate decomposition of domain means between waves, with design-based SEs (svycontrast). Each entry: data (+ data_extra), software, version, design_call (the design D), setup (R code run first), call, values, tolerance, notes. Produced by tests/reference/r/trend_contrasts.R.")
