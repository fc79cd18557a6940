# Shared helpers of the reference scripts in tests/reference/r/.
#
# Every reference number is produced by evaluating the *text* of its R call (`run()`), so the
# `call` recorded in the JSON is exactly the code that produced the `values`.
# Run the scripts from the repository root:  Rscript tests/reference/r/<script>.R
# Needs: R (Debian r-base-core), survey (r-cran-survey), jsonlite (r-cran-jsonlite).

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})

REF_DIR <- "tests/reference"
DATA_DIR <- file.path(REF_DIR, "data")
if (!dir.exists(DATA_DIR)) stop("run from the repository root (tests/reference/data not found)")

VERSION <- sprintf(
  "R %s.%s, survey %s", R.version$major, R.version$minor, as.character(packageVersion("survey"))
)
TOL <- list(estimate = 1e-8, se = 1e-8)

ENTRIES <- list()

# Evaluate the text of an R call in environment `env` (default: the caller's global env).
run <- function(code, env = globalenv()) eval(parse(text = code), envir = env)

# Record one reference entry.
add <- function(name, data, design_call, call, values, notes = NULL, setup = NULL,
                tolerance = TOL, options = NULL, data_extra = NULL) {
  if (!is.null(ENTRIES[[name]])) stop("duplicate entry ", name)
  e <- list(
    data = data, software = "R survey", version = VERSION,
    design_call = design_call, call = call
  )
  if (!is.null(data_extra)) e$data_extra <- as.list(data_extra)
  if (!is.null(setup)) e$setup <- setup
  if (!is.null(options)) e$options <- options
  e$values <- values
  e$tolerance <- tolerance
  if (!is.null(notes)) e$notes <- notes
  ENTRIES[[name]] <<- e
}

named <- function(x) as.list(setNames(as.numeric(x), names(x)))

mat <- function(m) {
  m <- as.matrix(m)
  list(
    rownames = if (is.null(rownames(m))) list() else as.list(rownames(m)),
    colnames = if (is.null(colnames(m))) list() else as.list(colnames(m)),
    values = unname(lapply(seq_len(nrow(m)), function(i) as.numeric(m[i, ])))
  )
}

# Estimates, SEs, covariance, df and CIs of a svystat / svrepstat / svyby / svycontrast result.
stat_values <- function(x, design = NULL, level = 0.95) {
  est <- coef(x)
  se <- as.vector(as.matrix(SE(x)))
  if (length(se) != length(est)) stop("SE and coef lengths differ")
  if (is.null(names(est))) names(est) <- paste0("V", seq_along(est))
  names(se) <- names(est)
  v <- list(estimate = named(est), se = named(se))
  V <- if (inherits(x, "svyby") && is.null(attr(x, "var"))) NULL else
    tryCatch(vcov(x), error = function(e) NULL)
  if (!is.null(V) && length(est) > 1) {
    V <- as.matrix(V)
    dimnames(V) <- list(names(est), names(est))
    v$vcov <- mat(V)
  }
  ci <- confint(x, level = level)
  v$ci_normal <- list(
    level = level, lower = named(setNames(ci[, 1], names(est))),
    upper = named(setNames(ci[, 2], names(est)))
  )
  if (!is.null(design)) {
    df <- degf(design)
    v$df <- df
    q <- qt(1 - (1 - level) / 2, df)
    v$ci_t <- list(
      level = level, df = df, lower = named(est - q * se), upper = named(est + q * se)
    )
  }
  dv <- tryCatch(suppressWarnings(deff(x)), error = function(e) NULL)
  if (!is.null(dv) && length(dv) == length(est) && all(is.finite(dv))) {
    v$deff <- named(setNames(as.numeric(dv), names(est)))
  }
  v
}

# A svyby result as a table of records (the by-variables, estimates and se) plus stat_values.
by_values <- function(x, design = NULL) {
  v <- stat_values(x, design)
  df <- as.data.frame(x)
  rows <- lapply(seq_len(nrow(df)), function(i) {
    r <- as.list(df[i, , drop = FALSE])
    lapply(r, function(z) if (is.factor(z)) as.character(z) else z)
  })
  v$table <- unname(rows)
  v
}

# svyquantile (survey >= 4.0 "newsvyquantile"): per variable the quantiles, CI and SE.
quantile_values <- function(q, design = NULL) {
  out <- list()
  for (nm in names(q)) {
    m <- q[[nm]]
    probs <- rownames(m)
    out[[nm]] <- list(
      probs = as.numeric(probs),
      quantile = as.numeric(m[, 1]),
      ci_lower = as.numeric(m[, 2]),
      ci_upper = as.numeric(m[, 3]),
      se = as.numeric(m[, 4])
    )
  }
  v <- list(variables = out)
  if (!is.null(design)) v$df <- degf(design)
  v
}

glm_values <- function(m) {
  s <- summary(m)
  cf <- s$coefficients
  list(
    estimate = named(cf[, 1]), se = named(cf[, 2]), t = named(cf[, 3]), p = named(cf[, 4]),
    df_residual = m$df.residual, vcov = mat(vcov(m)), dispersion = as.numeric(s$dispersion)
  )
}

test_values <- function(t) {
  v <- list(
    statistic = named(t$statistic), parameter = named(t$parameter), p_value = t$p.value
  )
  if (!is.null(t$estimate)) v$estimate <- named(t$estimate)
  if (!is.null(t$method)) v$method <- t$method
  v
}

write_entries <- function(file, about) {
  out <- list(about = about, software = VERSION, entries = ENTRIES)
  path <- file.path(REF_DIR, file)
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), path)
  cat(sprintf("wrote %s: %d entries\n", path, length(ENTRIES)))
}

# Write a data frame as the reference CSV convention says.
write_ref_csv <- function(df, name) {
  path <- file.path(DATA_DIR, name)
  write.csv(df, path, row.names = FALSE, na = "")
  cat(sprintf("wrote %s: %d x %d\n", path, nrow(df), ncol(df)))
  invisible(path)
}

# Replicate analysis weights of a svyrep.design as a data frame with id columns in front.
rep_frame <- function(rd, ids, prefix = "rep") {
  W <- weights(rd, type = "analysis")
  colnames(W) <- sprintf("%s%d", prefix, seq_len(ncol(W)))
  cbind(ids, W)
}

# Derived columns used by the banner (issue 11) and trend (issue 16) references; the same rule
# is applied to apistrat and apiclus1 and frozen in data/survey_api_derived.csv (keyed by
# data set and snum) so that a loader does not have to re-implement it.
SETUP_DERIVED <- paste(
  "derive <- function(d) {",
  "  d$meals_band <- cut(d$meals, c(-Inf, 25, 50, 75, Inf), labels=c('0-25', '26-50', '51-75', '76-100'));",
  "  d$hi700 <- as.numeric(d$api00 >= 700);",
  "  d$nps_code <- ifelse(d$api00 >= 750, 1, ifelse(d$api00 < 600, -1, 0));",
  "  d$wave <- factor(ifelse(d$comp.imp == 'Yes', 'w2', 'w1'), levels=c('w1', 'w2'));",
  "  d$targeted <- (d$api00 + d$api99) / 20;",
  "  d$untargeted <- (d$full + d$pct.resp) / 2;",
  "  d$did_diff <- d$targeted - d$untargeted;",
  "  d$schwide_yes <- as.numeric(d$sch.wide == 'Yes');",
  "  d };",
  "apistrat <- derive(apistrat); apiclus1 <- derive(apiclus1)"
)
DERIVED_NOTE <- paste(
  "derived columns (data/survey_api_derived.csv): meals_band = meals cut at 25/50/75 (right-closed);",
  "hi700 = 1{api00 >= 700} (a top-box share); nps_code = +1 if api00 >= 750, -1 if api00 < 600, else 0;",
  "wave = 'w2' if comp.imp == 'Yes' else 'w1' (a fake wave split); targeted = (api00 + api99) / 20;",
  "untargeted = (full + pct.resp) / 2; did_diff = targeted - untargeted; schwide_yes = 1{sch.wide == 'Yes'}"
)

# The text of an update() that adds, for variable y and grouping g (levels lev), the columns
# y_<k> = y * 1{g == k} and n_<k> = 1{g == k} to design `dn`; keys are syntactic labels.
indicator_update <- function(y, g, lev, keys = make.names(lev), dn = "D") {
  parts <- c(
    sprintf("y_%s=%s*(%s=='%s')", keys, y, g, lev),
    sprintf("n_%s=as.numeric(%s=='%s')", keys, g, lev)
  )
  sprintf("update(%s, %s)", dn, paste(parts, collapse = ", "))
}
totals_formula <- function(keys) {
  paste0("~", paste(c(sprintf("y_%s", keys), sprintf("n_%s", keys)), collapse = "+"))
}
# Domain means as ratios of totals, with their joint covariance (works on every design class,
# including calibrated ones where svyby(covmat=TRUE) fails in survey 4.1).
domain_means_call <- function(y, g, lev, keys = make.names(lev), dn = "D") {
  exprs <- sprintf("%s=quote(y_%s/n_%s)", keys, keys, keys)
  sprintf(
    "svycontrast(svytotal(%s, %s), list(%s))", totals_formula(keys),
    indicator_update(y, g, lev, keys, dn), paste(exprs, collapse = ", ")
  )
}
