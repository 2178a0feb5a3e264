module daedalus/bench/peer/posts

go 1.22
