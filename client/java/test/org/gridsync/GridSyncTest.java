package org.gridsync;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The binding against a real gridsyncd (started by tests/integration/java_binding.sh, which
 * passes the server and two enrolled devices as system properties gs.*): a record made
 * offline reaches the other device through a sync with progress, a conflict ends the same on
 * both, error codes arrive as GridSyncException codes, and a list longer than Android's
 * local reference table (512) comes back whole (the script runs java with -Xcheck:jni and
 * fails on its warnings).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GridSyncTest {
    static final String DIR = System.getProperty("gs.dir");
    static final String GRID = "东风村3组";

    /** On a library built with SQLCipher (make test-sqlcipher) every device is encrypted. */
    static final byte[] KEY = "the app's Keystore secret".getBytes(StandardCharsets.UTF_8);

    static GridSync device(int n) throws Exception {
        GridSync g = GridSync.canEncrypt() ? GridSync.open(DIR + "/java" + n + ".db", KEY)
                                           : GridSync.open(DIR + "/java" + n + ".db");
        String ca = new String(Files.readAllBytes(Paths.get(System.getProperty("gs.ca"))),
                StandardCharsets.UTF_8);
        g.init(System.getProperty("gs.dev" + n), System.getProperty("gs.tok" + n),
                System.getProperty("gs.url"), ca, Collections.singletonList(GRID), "worker" + n);
        return g;
    }

    @Test
    @Order(1)
    void recordOfflineThenSyncReachesTheOtherDevice() throws Exception {
        try (GridSync a = device(1); GridSync b = device(2)) {
            String id = a.add(new Record("resident").set("name", "王秀英😀").set("born", "1946")
                    .set("phone", "13800138000"));
            assertNotNull(id);
            assertTrue(a.status().pending >= 1, "pending before sync");
            AtomicInteger calls = new AtomicInteger();
            SyncResult r = a.sync(soFar -> calls.incrementAndGet());
            assertTrue(r.pushed >= 1 && r.accepted == r.pushed, r.toString());
            assertTrue(calls.get() >= 1, "progress listener called");
            assertEquals(0, a.status().pending);
            b.sync(null);
            Record got = b.show(id);
            assertEquals("王秀英😀", got.get("name"));
            assertEquals("1946", got.get("born"));
            assertEquals("resident", got.getTable());
        }
    }

    @Test
    @Order(2)
    void conflictEndsTheSameOnBothDevices() throws Exception {
        try (GridSync a = device(1); GridSync b = device(2)) {
            String id = a.add(new Record("resident").set("name", "李四").set("address", "旧址"));
            a.sync(null);
            b.sync(null);
            GridSyncException e = assertThrows(GridSyncException.class,
                    () -> a.update(new Record("resident").set("address", "甲")));
            assertEquals(GridSyncException.INVALID, e.getCode(), "update without an id");
            assertNotNull(b.show(id));
        }
        try (GridSync a = device(1); GridSync b = device(2)) {
            Record r = a.list("resident", Collections.singletonMap("name", "李四"), 1).get(0);
            a.update(r.set("address", "甲"));
            Thread.sleep(20);
            Record s = b.show(r.getId());
            b.update(s.set("address", "乙"));
            a.sync(null);
            b.sync(null);
            a.sync(null);
            assertEquals("乙", a.show(r.getId()).get("address"), "later edit wins on a");
            assertEquals("乙", b.show(r.getId()).get("address"), "later edit wins on b");
        }
    }

    @Test
    @Order(3)
    void errorsCarryTheLibrarysCodes() throws Exception {
        try (GridSync a = device(1)) {
            String res = a.list("resident", null, 1).get(0).getId();
            GridSyncException e = assertThrows(GridSyncException.class, () ->
                    a.add(new Record("visit").set("resident", res).set("kind", "walk")));
            assertEquals(GridSyncException.INVALID, e.getCode());
            assertTrue(e.getMessage().contains("kind"), e.getMessage());
            e = assertThrows(GridSyncException.class,
                    () -> a.show("01890000-0000-7000-8000-000000000000"));
            assertEquals(GridSyncException.NOT_FOUND, e.getCode());
        }
        try (GridSync bad = GridSync.open(DIR + "/wrong.db")) {
            String ca = new String(Files.readAllBytes(Paths.get(System.getProperty("gs.ca"))),
                    StandardCharsets.UTF_8);
            bad.init(System.getProperty("gs.dev1"), "wrong-token", System.getProperty("gs.url"),
                    ca, Collections.singletonList(GRID), null);
            bad.add(new Record("resident").set("name", "不该送出"));
            GridSyncException e = assertThrows(GridSyncException.class, () -> bad.sync(null));
            assertEquals(GridSyncException.AUTH, e.getCode(), e.getMessage());
            assertEquals(1, bad.status().pending, "the unsent change is kept");
        }
        GridSync closed = GridSync.open(DIR + "/closed.db");
        closed.close();
        assertEquals(GridSyncException.STATE,
                assertThrows(GridSyncException.class, closed::status).getCode());
    }

    @Test
    @Order(4)
    void longListsDeleteAndWarnings() throws Exception {
        try (GridSync a = device(1)) {
            for (int i = 0; i < 600; i++)
                a.add(new Record("resident").set("name", "居民" + i).set("tags", "elderly"));
            List<Record> all = a.list("resident", null, 0);
            assertTrue(all.size() >= 600, "listed " + all.size());
            String id = all.get(0).getId();
            a.delete(id);
            assertEquals(GridSyncException.NOT_FOUND,
                    assertThrows(GridSyncException.class, () -> a.show(id)).getCode());
            assertNotNull(a.warnings(true));
            assertTrue(a.status().openWarnings >= 0);
            SyncResult r = a.sync(null);
            assertEquals(r.pushed, r.accepted, r.toString());
        }
    }

    @Test
    @Order(5)
    void attachmentsArriveShrunkWithAThumbnail() throws Exception {
        java.awt.image.BufferedImage img =
                new java.awt.image.BufferedImage(640, 480, java.awt.image.BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 480; y++)
            for (int x = 0; x < 640; x++) img.setRGB(x, y, (x * 7) ^ (y * 13));
        java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
        javax.imageio.ImageIO.write(img, "png", png);
        try (GridSync a = device(1)) {
            String rid = a.add(new Record("resident").set("name", "赵六"));
            String aid = a.attach(rid, png.toByteArray(), "门牌照片");
            List<Attachment> atts = a.attachments(rid);
            assertEquals(1, atts.size());
            Attachment at = atts.get(0);
            assertEquals(aid, at.id);
            assertEquals("image/jpeg", at.mime);
            assertEquals("门牌照片", at.caption);
            assertEquals(640, at.width);
            byte[] thumb = a.attachmentBytes(aid, Attachment.THUMB);
            assertEquals((byte) 0xFF, thumb[0]);
            assertEquals((byte) 0xD8, thumb[1]);
            assertEquals(at.thumbBytes, thumb.length);
            GridSyncException e = assertThrows(GridSyncException.class,
                    () -> a.attach(rid, new byte[] {1, 2, 3}, null));
            assertEquals(GridSyncException.INVALID, e.getCode(), e.getMessage());
            SyncResult r = a.sync(null);
            assertEquals(r.pushed, r.accepted, r.toString());
        }
    }

    /** Device 3 was revoked with a wipe by java_binding.sh: the sync deletes its file. */
    @Test
    @Order(6)
    void revokedWithWipeDeletesTheDatabase() throws Exception {
        java.io.File f = new java.io.File(DIR + "/java3.db");
        GridSync g = device(3);
        g.add(new Record("resident").set("name", "将被清除"));
        assertTrue(f.exists());
        GridSyncException e = assertThrows(GridSyncException.class, () -> g.sync(null));
        assertEquals(GridSyncException.WIPED, e.getCode(), e.getMessage());
        assertFalse(f.exists(), "the database file is deleted");
        assertFalse(new java.io.File(DIR + "/java3.db-wal").exists(), "its WAL too");
        assertEquals(GridSyncException.STATE,
                assertThrows(GridSyncException.class, g::status).getCode(), "closed");
        g.close();
    }

    @Test
    @Order(7)
    void encryptionKeyWrongKeyAndRekey() throws Exception {
        byte[] k1 = "first key".getBytes(StandardCharsets.UTF_8);
        byte[] k2 = {1, 2, 0, 3, 4};
        String path = DIR + "/encrypted.db";
        if (!GridSync.canEncrypt()) {
            GridSyncException e = assertThrows(GridSyncException.class,
                    () -> GridSync.open(path, k1));
            assertEquals(GridSyncException.KEY, e.getCode(), e.getMessage());
            assertTrue(e.getMessage().contains("SQLCIPHER=1"), e.getMessage());
            return;
        }
        String id;
        try (GridSync g = GridSync.open(path, k1)) {
            id = g.add(new Record("resident").set("name", "张秀兰").set("grid", GRID));
        }
        assertEquals(GridSyncException.KEY,
                assertThrows(GridSyncException.class, () -> GridSync.open(path, k2)).getCode());
        assertEquals(GridSyncException.KEY,
                assertThrows(GridSyncException.class, () -> GridSync.open(path)).getCode());
        try (GridSync g = GridSync.open(path, k1)) {
            g.rekey(k2);
            assertEquals("张秀兰", g.show(id).get("name"), "the handle goes on on the new key");
        }
        assertEquals(GridSyncException.KEY,
                assertThrows(GridSyncException.class, () -> GridSync.open(path, k1)).getCode());
        try (GridSync g = GridSync.open(path, k2)) {
            assertEquals("张秀兰", g.show(id).get("name"));
        }
    }
}
