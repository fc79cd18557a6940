# The data of the seminr hold-out references as CSV (R 4.x; no package needed).
# corp_rep_data.rda and mobi.rda are data/ of github.com/sem-in-r/seminr at commit
# ae2524aae5f4f0bda3eb87faf80378af5baccea1 (git show <commit>:data/<name>.rda > <name>.rda).
load("corp_rep_data.rda")
load("mobi.rda")
write.csv(corp_rep_data, "corp_rep_data.csv", row.names = FALSE)
write.csv(mobi, "mobi.csv", row.names = FALSE)
