# Issue 11 references for the banner's index rows (banner_index.py): a satisfaction index
# = sum_i a_i 25 (xbar_i - 1) over three 1-5 items with item nonresponse, by banner column,
# from the svyby domain totals N_i = sum(w y_i), D_i = sum(w answered_i) and their joint
# design covariance (a svyratio-type ratio of totals, by the delta method: an independent
# route from the package's influence values). Index weights: area A (q1, q2 equal)
# 3, area B (q3) 1, so a = (3/8, 3/8, 1/4). q3 is never asked of high schools (stype H):
# in a column without any answer to q3 the weights are renormalised to a = (1/2, 1/2, 0),
# computed here by dropping the NaN ratio and its covariance rows.
# Writes tests/reference/r_banner_index.json. Run from the repository root:
#   Rscript tests/reference/r/banner_index.R
source("tests/reference/r/_common.R")
data(api)
SETUP <- paste(
  "items <- function(d) {",
  "  cut5 <- function(x) as.numeric(cut(x, c(-Inf, 550, 650, 750, 850, Inf)))",
  "  d$q1 <- cut5(d$api00); d$q2 <- cut5(d$api99)",
  "  d$q2[d$snum %% 4 == 0] <- NA",
  "  d$q3 <- as.numeric(cut(d$meals, c(-Inf, 20, 40, 60, 80, Inf)))",
  "  d$q3[d$stype == 'H'] <- NA",
  "  for (i in 1:3) { q <- d[[paste0('q', i)]]",
  "    d[[paste0('n', i)]] <- ifelse(is.na(q), 0, q); d[[paste0('d', i)]] <- as.numeric(!is.na(q)) }",
  "  d$meals_half <- ifelse(d$meals > 50, 'high', 'low')",
  "  d }",
  "apistrat <- items(apistrat); apiclus1 <- items(apiclus1)",
  sep = "\n"
)
run(SETUP)
DESIGNS <- list(
  apistrat = list(data = "data/survey_apistrat.csv", by = "meals_half",
    call = "svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat, fpc=~fpc)"),
  apiclus1 = list(data = "data/survey_apiclus1.csv", by = "stype",
    call = "svydesign(id=~dnum, weights=~pw, data=apiclus1, fpc=~fpc)")
)
NODES <- list(csi = c(3 / 8, 3 / 8, 1 / 4), area_A = c(1 / 2, 1 / 2, 0), area_B = c(0, 0, 1))

# index of one domain from the totals t (named "<dom>:n<i>", "<dom>:d<i>", or "n<i>", "d<i>")
# by the delta method: gradient 25 a_i / D_i on N_i and -25 a_i N_i / D_i^2 on D_i
index_of <- function(t, dom, a) {
  pre <- if (is.null(dom)) "" else paste0(dom, ":")
  N <- t[paste0(pre, "n", 1:3)]
  Dn <- t[paste0(pre, "d", 1:3)]
  ok <- Dn > 0 & a > 0
  if (!any(ok)) return(NULL)
  # an unasked item: with this hierarchy (area A's items equal, area B one item) the
  # renormalised weights are the remaining weights rescaled to sum 1
  a <- ifelse(ok, a, 0) / sum(a[ok])
  g <- setNames(rep(0, length(t)), names(t))
  g[paste0(pre, "n", (1:3)[ok])] <- 25 * a[ok] / Dn[ok]
  g[paste0(pre, "d", (1:3)[ok])] <- -25 * a[ok] * N[ok] / Dn[ok]^2
  list(est = sum(25 * a[ok] * (N[ok] / Dn[ok] - 1)), g = g)
}
sd_of <- function(g, V) sqrt(drop(t(g) %*% V %*% g))
TOT <- "~n1+n2+n3+d1+d2+d3"

for (dn in names(DESIGNS)) {
  dd <- DESIGNS[[dn]]
  D <- run(dd$call)
  bn <- dd$by
  lev <- sort(unique(as.character(model.frame(D)[[bn]])))
  cl <- sprintf("svyby(%s, ~%s, D, svytotal, covmat=TRUE)", TOT, bn)
  by <- run(cl)
  tb <- coef(by)
  V <- vcov(by)
  clt <- sprintf("svytotal(%s, D)", TOT)
  tt <- run(clt)
  vals <- list()
  for (node in names(NODES)) {
    a <- NODES[[node]]
    doms <- lapply(lev, function(l) index_of(tb, l, a))
    names(doms) <- lev
    est <- list(); se <- list()
    for (l in lev) if (!is.null(doms[[l]])) {
      est[[l]] <- doms[[l]]$est; se[[l]] <- sd_of(doms[[l]]$g, V)
    }
    pd <- list(); ps <- list()
    pairs <- combn(lev, 2)
    for (k in seq_len(ncol(pairs))) {
      i <- pairs[1, k]; j <- pairs[2, k]
      if (is.null(doms[[i]]) || is.null(doms[[j]])) next
      nmk <- paste(j, "-", i)
      pd[[nmk]] <- est[[j]] - est[[i]]
      ps[[nmk]] <- sd_of(doms[[j]]$g - doms[[i]]$g, V)
    }
    xt <- index_of(coef(tt), NULL, a)
    # each column against the rest of the sample: totals by the column indicator
    rd <- list(); rs <- list()
    for (l in lev) {
      clr <- sprintf("svyby(%s, ~I(%s == '%s'), D, svytotal, covmat=TRUE)", TOT, bn, l)
      br <- run(clr)
      xin <- index_of(coef(br), "TRUE", a); xout <- index_of(coef(br), "FALSE", a)
      if (is.null(xin) || is.null(xout)) next
      rd[[l]] <- xin$est - xout$est
      rs[[l]] <- sd_of(xin$g - xout$g, vcov(br))
    }
    vals[[node]] <- list(weights = as.list(a), estimate = est, se = se,
      pairwise_difference = pd, pairwise_se = ps,
      total = list(estimate = xt$est, se = sd_of(xt$g, vcov(tt))),
      rest_difference = rd, rest_se = rs, df = degf(D))
  }
  add(paste(dn, bn, "index", sep = "."), dd$data, dd$call, cl, vals,
    notes = c("index = sum_i a_i 25 (N_i / D_i - 1) from the domain totals of the call, SE by the delta method sqrt(g' V g)",
      "Total: the same from svytotal(~n1+n2+n3+d1+d2+d3, D)",
      "rest: the same contrast from svyby(..., ~I(<banner> == value), D, svytotal, covmat=TRUE) (TRUE - FALSE)",
      "a column without answers to q3 (stype H) renormalises a to (1/2, 1/2, 0) (csi, area A); area B has no estimate there"),
    setup = SETUP)
}
write_entries("r_banner_index.json",
  "Issue 11 references from R survey for the banner's index rows (CSI and area indices with item nonresponse and an unasked item), as contrasts of svyratio estimates. Produced by tests/reference/r/banner_index.R.")
