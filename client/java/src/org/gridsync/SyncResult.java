package org.gridsync;

/** What a sync did (gs_sync_summary): so far, to a {@link GridSync.ProgressListener}, or in all. */
public final class SyncResult {
    public final long requests, connects, pushed, accepted, rejected, pulled, keptLocal, lost,
            bytesUp, bytesDown;

    SyncResult(long requests, long connects, long pushed, long accepted, long rejected,
               long pulled, long keptLocal, long lost, long bytesUp, long bytesDown) {
        this.requests = requests; this.connects = connects; this.pushed = pushed;
        this.accepted = accepted; this.rejected = rejected; this.pulled = pulled;
        this.keptLocal = keptLocal; this.lost = lost; this.bytesUp = bytesUp;
        this.bytesDown = bytesDown;
    }

    @Override
    public String toString() {
        return "pushed " + pushed + " accepted " + accepted + " rejected " + rejected
                + " pulled " + pulled + " lost " + lost + " requests " + requests;
    }
}
