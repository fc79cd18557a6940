# Replicate-design references beyond survey_designs.R (issue 15, branch replicates):
# svychisq and a domain difference (svyby + svycontrast) on the frozen bootstrap and BRR
# replicate weights, used as given (svrepdesign). Writes tests/reference/r_replicate_extras.json.
# Run from the repository root: Rscript tests/reference/r/replicate_extras.R
suppressPackageStartupMessages({library(survey); library(jsonlite)})
version <- sprintf("R %s, survey %s", getRversion(), packageVersion("survey"))
entries <- list()
api1 <- read.csv("tests/reference/data/survey_apiclus1.csv")
boot <- read.csv("tests/reference/data/rep_apiclus1_bootstrap.csv")
d1 <- merge(api1, boot[, c("snum", grep("^rep", names(boot), value = TRUE))], by = "snum", sort = FALSE)
dcall <- "svrepdesign(data=d1, repweights='rep[0-9]+', weights=~pw, type='bootstrap', scale=0.021865889212828, rscales=1, combined.weights=TRUE, mse=FALSE)"
D <- eval(parse(text = dcall))
add <- function(key, call, values, data) {
  entries[[key]] <<- list(data = data[1], data_extra = as.list(data[-1]), software = "R survey", version = version,
    design_call = dcall,
    setup = "d1 <- merge(apiclus1, boot[, c('snum', grep('^rep', names(boot), value=TRUE))], by='snum', sort=FALSE) with boot <- read.csv('tests/reference/data/rep_apiclus1_bootstrap.csv')",
    call = call, values = values,
    tolerance = list(estimate = 1e-8, se = 1e-8))
}
cl <- "svychisq(~stype+sch.wide, D, statistic='F')"
r <- eval(parse(text = cl))
add("apiclus1_user_bootstrap.svychisq_F", cl, list(statistic = unname(r$statistic),
  ndf = unname(r$parameter[1]), ddf = unname(r$parameter[2]), p_value = unname(r$p.value)),
  c("data/survey_apiclus1.csv", "data/rep_apiclus1_bootstrap.csv"))
cl <- "svychisq(~stype+sch.wide, D, statistic='Chisq')"
r <- eval(parse(text = cl))
add("apiclus1_user_bootstrap.svychisq_Chisq", cl, list(statistic = unname(r$statistic),
  df = unname(r$parameter[1]), p_value = unname(r$p.value)),
  c("data/survey_apiclus1.csv", "data/rep_apiclus1_bootstrap.csv"))
cl <- "svycontrast(svyby(~api00, ~stype, D, svymean, covmat=TRUE), c(E=-1, H=1, M=0))"
r <- eval(parse(text = cl))
add("apiclus1_user_bootstrap.domain_diff_api00_H_minus_E", cl,
  list(estimate = unname(coef(r)), se = as.numeric(SE(r))),
  c("data/survey_apiclus1.csv", "data/rep_apiclus1_bootstrap.csv"))
out <- list(about = "Replicate-design references: svychisq and a domain difference on R's frozen bootstrap replicates (svrepdesign). Produced by tests/reference/r/replicate_extras.R.",
  software = version, entries = entries)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "tests/reference/r_replicate_extras.json")
