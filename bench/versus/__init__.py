"""One benchmark run on two commits in turn, ABAB over several rounds, and the ratio of each
figure after / before within a round: on a shared machine the absolute figures drift, the
same-round ratio much less."""
