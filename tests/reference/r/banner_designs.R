# Banner references on the designs issue 15 added (branch bannerrep): JK1 replicate weights
# of apiclus1 (as.svrepdesign) and the two-stage apiclus2 sample with an fpc per stage.
# Per design, by stype: domain means of api00 and hi700 (svyby), every pair of columns
# (svycontrast), each column against the rest of the sample and against Total (svycontrast of
# the domain totals), svyttest of a column against the rest (its df), the Wald F of equal means
# (regTermTest) and the Rao-Scott tests of awards by stype (svychisq).
# Writes tests/reference/r_banner_designs.json. Run from the repository root:
#   Rscript tests/reference/r/banner_designs.R
source("tests/reference/r/_common.R")
data(api)
setup <- paste(
  "apiclus1$hi700 <- as.numeric(apiclus1$api00 >= 700)",
  "apiclus2$hi700 <- as.numeric(apiclus2$api00 >= 700)",
  "dclus1 <- svydesign(id=~dnum, weights=~pw, data=apiclus1, fpc=~fpc)",
  sep = "; "
)
run(setup)
DESIGNS <- list(
  apiclus1_JK1 = list(data = "data/survey_apiclus1.csv", call = "as.svrepdesign(dclus1, type='JK1')"),
  apiclus2_twostage = list(data = "data/survey_apiclus2.csv", call = "svydesign(id=~dnum+snum, fpc=~fpc1+fpc2, data=apiclus2)")
)
lev <- c("E", "H", "M")
keys <- lev
for (dn in names(DESIGNS)) {
  dd <- DESIGNS[[dn]]
  D <- run(dd$call)
  assign("D", D, envir = globalenv())
  A <- function(name, call, values, notes = NULL) {
    add(paste(dn, name, sep = "."), dd$data, dd$call, call, values, notes = c(notes, "hi700 = 1{api00 >= 700}"),
      setup = setup)
  }
  A("df", "degf(D)", list(df = degf(D)))
  for (it in c("api00", "hi700")) {
    by_cl <- sprintf("svyby(~%s, ~stype, D, svymean, covmat=TRUE)", it)
    A(paste(it, "domains", sep = "."), by_cl, by_values(run(by_cl), D))
    cl <- sprintf("svycontrast(%s, list(`E - H`=c(1, -1, 0), `E - M`=c(1, 0, -1), `H - M`=c(0, 1, -1)))", by_cl)
    A(paste(it, "pairwise", sep = "."), cl, stat_values(run(cl), D))
    upd <- indicator_update(it, "stype", lev, keys)
    # replicate designs: return.replicates=TRUE, so svycontrast recomputes the ratios with
    # each replicate (the exact replicate variance) instead of the delta method
    rr <- if (inherits(D, "svyrep.design")) ", return.replicates=TRUE" else ""
    tot_cl <- sprintf("svytotal(%s, %s%s)", totals_formula(keys), upd, rr)
    ex_c <- sapply(seq_along(lev), function(k) {
      rest <- setdiff(seq_along(lev), k)
      sprintf("`%s`=quote(y_%s/n_%s - (%s)/(%s))", lev[k], keys[k], keys[k],
        paste(sprintf("y_%s", keys[rest]), collapse = "+"), paste(sprintf("n_%s", keys[rest]), collapse = "+"))
    })
    cl <- sprintf("svycontrast(%s, list(%s))", tot_cl, paste(ex_c, collapse = ", "))
    A(paste(it, "vs_complement", sep = "."), cl, stat_values(run(cl), D))
    ex_t <- sprintf("`%s`=quote(y_%s/n_%s - (%s)/(%s))", lev, keys, keys,
      paste(sprintf("y_%s", keys), collapse = "+"), paste(sprintf("n_%s", keys), collapse = "+"))
    cl <- sprintf("svycontrast(%s, list(%s))", tot_cl, paste(ex_t, collapse = ", "))
    A(paste(it, "vs_total", sep = "."), cl, stat_values(run(cl), D))
    cl <- sprintf("svyttest(%s ~ I(stype == 'H'), D)", it)
    A(paste(it, "svyttest_H_vs_rest", sep = "."), cl, test_values(run(cl)))
    cl <- sprintf("regTermTest(svyglm(%s ~ stype, design=D), ~stype)", it)
    rt <- run(cl)
    A(paste(it, "wald_F", sep = "."), cl, list(F = as.numeric(rt$Ftest), df = as.numeric(rt$df),
      ddf = as.numeric(rt$ddf), p = as.numeric(rt$p)))
  }
  for (st in c("F", "Chisq")) {
    cl <- sprintf("svychisq(~awards+stype, D, statistic='%s')", st)
    A(sprintf("svychisq_awards_%s", st), cl, test_values(run(cl)))
  }
  cl <- "svyby(~awards, ~stype, D, svymean)"
  A("column_pct_awards", cl, by_values(run(cl), D))
}
# Index rows (and csi by group): sum_i a_i 25 (xbar_i - 1) over three 1-5 items (the items of
# banner_index.R), per column, the rest and Total, as nonlinear contrasts of the domain totals
# n<i>_<k> = sum w y_i, d<i>_<k> = sum w answered_i; on the replicate design with
# return.replicates=TRUE (each replicate's index recomputed), on the two-stage design by the
# delta method. Weights a = (3/8, 3/8, 1/4); q3 is never asked of high schools, whose
# weights are renormalised to (1/2, 1/2, 0).
SETUP_ITEMS <- paste(
  "items <- function(d) {",
  "  cut5 <- function(x) as.numeric(cut(x, c(-Inf, 550, 650, 750, 850, Inf)))",
  "  d$q1 <- cut5(d$api00); d$q2 <- cut5(d$api99)",
  "  d$q2[d$snum %% 4 == 0] <- NA",
  "  d$q3 <- as.numeric(cut(d$meals, c(-Inf, 20, 40, 60, 80, Inf)))",
  "  d$q3[d$stype == 'H'] <- NA",
  "  for (i in 1:3) { q <- d[[paste0('q', i)]]",
  "    d[[paste0('n', i)]] <- ifelse(is.na(q), 0, q); d[[paste0('d', i)]] <- as.numeric(!is.na(q)) }",
  "  d }",
  "apiclus1 <- items(apiclus1); apiclus2 <- items(apiclus2)",
  "dclus1 <- svydesign(id=~dnum, weights=~pw, data=apiclus1, fpc=~fpc)",
  sep = "\n"
)
run(SETUP_ITEMS)
a_full <- c(3 / 8, 3 / 8, 1 / 4)
idx_expr <- function(levs) {
  asked <- if (all(levs == "H")) c(TRUE, TRUE, FALSE) else c(TRUE, TRUE, TRUE)
  a <- ifelse(asked, a_full, 0) / sum(a_full[asked])
  terms <- sapply(which(asked), function(i) sprintf("%.17g*25*((%s)/(%s) - 1)", a[i],
    paste(sprintf("n%d_%s", i, levs), collapse = "+"), paste(sprintf("d%d_%s", i, levs), collapse = "+")))
  paste(terms, collapse = " + ")
}
for (dn in names(DESIGNS)) {
  dd <- DESIGNS[[dn]]
  D <- run(dd$call)
  assign("D", D, envir = globalenv())
  upd <- sprintf("update(D, %s)", paste(c(
    sapply(1:3, function(i) sprintf("n%d_%s=n%d*(stype=='%s')", i, lev, i, lev)),
    sapply(1:3, function(i) sprintf("d%d_%s=d%d*(stype=='%s')", i, lev, i, lev))), collapse = ", "))
  form <- paste0("~", paste(c(outer(1:3, lev, function(i, k) sprintf("n%d_%s", i, k)),
    outer(1:3, lev, function(i, k) sprintf("d%d_%s", i, k))), collapse = "+"))
  rr <- if (inherits(D, "svyrep.design")) ", return.replicates=TRUE" else ""
  tot_cl <- sprintf("svytotal(%s, %s%s)", form, upd, rr)
  ex <- c(sprintf("`%s`=quote(%s)", lev, sapply(lev, idx_expr)),
    sprintf("`rest_%s`=quote(%s)", lev, sapply(lev, function(k) idx_expr(setdiff(lev, k)))),
    sprintf("`total`=quote(%s)", idx_expr(lev)))
  cl <- sprintf("svycontrast(%s, list(%s))", tot_cl, paste(ex, collapse = ", "))
  add(paste(dn, "index", sep = "."), dd$data, dd$call, cl, stat_values(run(cl), D),
    setup = SETUP_ITEMS, notes = "the index of each stype column, of its rest (rest_<k>) and of Total")
  ex_d <- c(sprintf("`%s - rest`=quote((%s) - (%s))", lev, sapply(lev, idx_expr),
    sapply(lev, function(k) idx_expr(setdiff(lev, k)))),
    "`H - E`=quote((HH) - (EE))")
  ex_d[4] <- sprintf("`H - E`=quote((%s) - (%s))", idx_expr("H"), idx_expr("E"))
  cl <- sprintf("svycontrast(%s, list(%s))", tot_cl, paste(ex_d, collapse = ", "))
  add(paste(dn, "index_differences", sep = "."), dd$data, dd$call, cl, stat_values(run(cl), D),
    setup = SETUP_ITEMS, notes = "column minus rest, and the pair H - E")
}
write_entries("r_banner_designs.json",
  "Issue 15 (branch bannerrep): banner tests on a JK1 replicate design of apiclus1 and the two-stage apiclus2 design with fpc. Produced by tests/reference/r/banner_designs.R.")
