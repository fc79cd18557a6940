# Issue 11 references: significance tests behind banner letters, on stratified (apistrat) and
# clustered (apiclus1) samples: pairwise differences of domain means / shares / NPS, each
# column against the rest of the sample (complement) and against Total, omnibus Wald F,
# Rao-Scott chi-square, Holm / BH adjustment of one row's p-values.
# Writes tests/reference/r_banner_tests.json. Run from the repository root:
#   Rscript tests/reference/r/banner_tests.R
source("tests/reference/r/_common.R")
data(api)
run(SETUP_DERIVED)
F_DER <- "data/survey_api_derived.csv"

DESIGNS <- list(
  apistrat = list(
    data = "data/survey_apistrat.csv",
    call = "svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat, fpc=~fpc)"
  ),
  apiclus1 = list(
    data = "data/survey_apiclus1.csv",
    call = "svydesign(id=~dnum, weights=~pw, data=apiclus1, fpc=~fpc)"
  )
)
BANNERS <- list(
  meals_band = c("0-25", "26-50", "51-75", "76-100"),
  stype = c("E", "H", "M")
)
ITEMS <- c(
  api00 = "mean of a score",
  hi700 = "share (top box: api00 >= 700)",
  nps_code = "NPS-type +1/0/-1 code (x 100 = NPS points)",
  schwide_yes = "share of sch.wide == 'Yes'"
)
NOTE_P <- paste(
  "p_t = 2 pt(-|est/se|, df) with df = degf(D) (what svyttest-style tests use, up to its df - 1);",
  "p_normal = 2 pnorm(-|est/se|)"
)

p_of <- function(est, se, df) {
  z <- est / se
  list(z = named(z), p_t = named(2 * pt(-abs(z), df)), p_normal = named(2 * pnorm(-abs(z))))
}

for (dn in names(DESIGNS)) {
  dd <- DESIGNS[[dn]]
  D <- run(dd$call)
  df <- degf(D)
  key <- function(...) paste(dn, ..., sep = ".")
  A <- function(name, call, values, notes = NULL) {
    add(name, dd$data, dd$call, call, values, notes = c(notes, DERIVED_NOTE),
      setup = SETUP_DERIVED, data_extra = F_DER)
  }
  for (bn in names(BANNERS)) {
    lev <- BANNERS[[bn]]
    if (bn == "stype" && dn == "apistrat") bnote <- "banner = the strata: domain estimates are independent" else bnote <- NULL
    keys <- paste0("k", seq_along(lev))
    pairs <- combn(seq_along(lev), 2)
    pair_names <- apply(pairs, 2, function(ij) paste(lev[ij[1]], "-", lev[ij[2]]))
    for (it in names(ITEMS)) {
      inote <- c(bnote, sprintf("item %s: %s", it, ITEMS[[it]]))
      # domain estimates with their joint covariance
      by_cl <- sprintf("svyby(~%s, ~%s, D, svymean, covmat=TRUE)", it, bn)
      by <- run(by_cl)
      A(key(bn, it, "domains"), by_cl, c(by_values(by, D), list(
        n = as.list(table(factor(model.frame(D)[[bn]], levels = lev))),
        n_weighted = named(coef(svytotal(as.formula(paste0("~", bn)), D)))
      )), inote)
      # every pair: column i - column j
      cvec <- lapply(seq_len(ncol(pairs)), function(k) {
        v <- rep(0, length(lev))
        v[pairs[1, k]] <- 1
        v[pairs[2, k]] <- -1
        v
      })
      names(cvec) <- pair_names
      ctxt <- paste0("list(", paste(sprintf("`%s`=c(%s)", pair_names, sapply(cvec, paste, collapse = ", ")), collapse = ", "), ")")
      cl <- sprintf("svycontrast(%s, %s)", by_cl, ctxt)
      pc <- run(cl)
      pv <- p_of(coef(pc), SE(pc), df)
      v <- c(stat_values(pc, D), pv)
      v$p_adjust_t <- list(
        holm = named(setNames(p.adjust(pv$p_t, "holm"), pair_names)),
        BH = named(setNames(p.adjust(pv$p_t, "BH"), pair_names)),
        bonferroni = named(setNames(p.adjust(pv$p_t, "bonferroni"), pair_names))
      )
      v$p_adjust_normal <- list(
        holm = named(setNames(p.adjust(pv$p_normal, "holm"), pair_names)),
        BH = named(setNames(p.adjust(pv$p_normal, "BH"), pair_names))
      )
      A(key(bn, it, "pairwise"), paste0(cl, "; p.adjust(p, method) for method in holm, BH, bonferroni"), v,
        c(inote, NOTE_P, "contrast names 'a - b' = domain a minus domain b; p.adjust over the pairs of this row"))
      # svyttest on the two-domain subset (grouping TRUE = the second domain)
      if (it != "schwide_yes") {
        for (k in seq_len(ncol(pairs))) {
          a <- lev[pairs[1, k]]
          b <- lev[pairs[2, k]]
          cl <- sprintf("svyttest(%s ~ I(%s == '%s'), subset(D, %s %%in%% c('%s', '%s')))", it, bn, b, bn, a, b)
          A(key(bn, it, sprintf("svyttest_%s_vs_%s", b, a)), cl, test_values(run(cl)),
            c(inote, "estimate = mean(b) - mean(a); df = degf(subset) - 1 as svyttest uses"))
        }
      }
      # each domain vs the rest of the sample, and vs the total, via totals with full covariance
      upd <- indicator_update(it, bn, lev, keys)
      tot_cl <- sprintf("svytotal(%s, %s)", totals_formula(keys), upd)
      ally <- paste(sprintf("y_%s", keys), collapse = "+")
      alln <- paste(sprintf("n_%s", keys), collapse = "+")
      ex_c <- sapply(seq_along(lev), function(k) {
        rest <- setdiff(seq_along(lev), k)
        sprintf("`%s`=quote(y_%s/n_%s - (%s)/(%s))", lev[k], keys[k], keys[k],
          paste(sprintf("y_%s", keys[rest]), collapse = "+"),
          paste(sprintf("n_%s", keys[rest]), collapse = "+"))
      })
      cl <- sprintf("svycontrast(%s, list(%s))", tot_cl, paste(ex_c, collapse = ", "))
      cc <- run(cl)
      A(key(bn, it, "vs_complement"), cl, c(stat_values(cc, D), p_of(coef(cc), SE(cc), df)),
        c(inote, NOTE_P, "domain k minus the rest of the sample (delta method on the domain totals y_k, n_k)"))
      ex_t <- sprintf("`%s`=quote(y_%s/n_%s - (%s)/(%s))", lev, keys, keys, ally, alln)
      cl <- sprintf("svycontrast(%s, list(%s))", tot_cl, paste(ex_t, collapse = ", "))
      ct <- run(cl)
      A(key(bn, it, "vs_total"), cl, c(stat_values(ct, D), p_of(coef(ct), SE(ct), df)),
        c(inote, NOTE_P, "domain k minus the Total (which contains domain k): the covariance of the overlap is in the delta method"))
      if (it != "schwide_yes") {
        for (k in seq_along(lev)) {
          cl <- sprintf("svyttest(%s ~ I(%s == '%s'), D)", it, bn, lev[k])
          A(key(bn, it, sprintf("svyttest_%s_vs_rest", lev[k])), cl, test_values(run(cl)),
            c(inote, "estimate = domain minus rest; same estimate and SE as vs_complement"))
        }
      }
      # omnibus: design-based Wald F for equality of the domain means
      cl <- sprintf("regTermTest(svyglm(%s ~ %s, design=D), ~%s)", it, bn, bn)
      rt <- run(cl)
      A(key(bn, it, "wald_F"), cl, list(
        F = as.numeric(rt$Ftest), df = as.numeric(rt$df), ddf = as.numeric(rt$ddf),
        p = as.numeric(rt$p)
      ), c(inote, "F = Wald chi-square / df; p from F(df, ddf), ddf = degf(D) - (levels - 1)"))
      cl <- sprintf("regTermTest(svyglm(%s ~ %s, design=D), ~%s, df=Inf)", it, bn, bn)
      rt <- run(cl)
      A(key(bn, it, "wald_chisq"), cl, list(
        chisq = as.numeric(rt$chisq), df = as.numeric(rt$df), p = as.numeric(rt$p)
      ), inote)
    }
    # Rao-Scott tests of a categorical item by the banner, and the column percentages
    cats <- if (bn == "stype") c("sch.wide", "awards", "meals_band") else c("sch.wide", "awards", "stype")
    for (ct in cats) {
      for (st in c("F", "Chisq", "Wald", "adjWald")) {
        cl <- sprintf("svychisq(~%s+%s, D, statistic='%s')", ct, bn, st)
        A(key(bn, sprintf("svychisq_%s_%s", ct, st)), cl, test_values(run(cl)),
          c(bnote, "F: Rao-Scott second-order (Satterthwaite) F; Chisq: first-order adjusted chi-square"))
      }
      cl <- sprintf("svyby(~%s, ~%s, D, svymean)", ct, bn)
      A(key(bn, sprintf("column_pct_%s", ct)), cl, by_values(run(cl), D), c(bnote, "column percentages (shares of the item's levels within each banner column)"))
      cl <- sprintf("svytable(~%s+%s, D)", ct, bn)
      tb <- run(cl)
      A(key(bn, sprintf("svytable_%s", ct)), cl, list(table = mat(unclass(tb))), bnote)
      cl <- sprintf("svymean(~%s, D)", ct)
      A(key(bn, sprintf("total_pct_%s", ct)), cl, stat_values(run(cl), D), bnote)
    }
  }
  # a net (top-2 of the 4 meals bands) by stype, and a nested banner stype x sch.wide
  cl <- "svyby(~I(meals > 50), ~stype, D, svymean, covmat=TRUE)"
  A(key("stype", "net_meals_gt50"), cl, by_values(run(cl), D), "net: the top two meals bands (51-75, 76-100) together")
  cl <- "svyby(~api00, ~stype+sch.wide, D, svymean, covmat=TRUE)"
  nb <- run(cl)
  A(key("nested_stype_sch.wide", "api00", "domains"), cl, by_values(nb, D), "nested banner: stype x sch.wide cells")
  cl <- "svycontrast(svyby(~api00, ~stype+sch.wide, D, svymean, covmat=TRUE), list(`E.Yes - E.No`=c(-1, 0, 0, 1, 0, 0), `H.Yes - H.No`=c(0, -1, 0, 0, 1, 0), `M.Yes - M.No`=c(0, 0, -1, 0, 0, 1)))"
  nc <- run(cl)
  A(key("nested_stype_sch.wide", "api00", "pairwise_within"), cl, c(stat_values(nc, D), p_of(coef(nc), SE(nc), df)),
    c("svyby order: stype varies fastest (E.No, H.No, M.No, E.Yes, H.Yes, M.Yes)", NOTE_P))
}

write_entries("r_banner_tests.json",
  "Issue 11 references from R survey: banner significance tests. Keys '<data>.<banner>.<item>.<test>'. Each entry: data (+ data_extra: the derived columns), software, version, design_call (the design D), setup (R code run first: derived columns), call, values, tolerance, notes. Produced by tests/reference/r/banner_tests.R.")
