/*
 * gridsync_jni.c: the JNI layer of the Java binding (client/java/src/org/gridsync/). A thin
 * map of GridSync's native methods onto the public API (client/gridsync.h), nothing else:
 * records cross as text fields (gs_record_set_text / gs_record_text), so Java needs no
 * per-type call and the text forms stay libgridsync's.
 *
 * Invariants:
 *   - the handle is a gs_db * in a jlong, owned by one GridSync object whose methods are
 *     synchronized: this file is never entered twice at once for the same handle;
 *   - no local reference outlives its use inside a loop (DeleteLocalRef per element, a
 *     local frame per progress callback), so long lists and long syncs do not overflow the
 *     JVM's local reference table (Android's holds 512);
 *   - every failure becomes one GridSyncException(code, message) and the native returns at
 *     once; a Java exception already pending (out of memory, a listener's) is left as is.
 */
#include <jni.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/gridsync.h"
#include "client/gridsync_rc.h"

#define JNI_FN(name) Java_org_gridsync_GridSync_##name

static void throw_gs(JNIEnv *env, int code, const char *msg)
{
    if ((*env)->ExceptionCheck(env))
        return;
    jclass cls = (*env)->FindClass(env, "org/gridsync/GridSyncException");
    if (!cls)
        return;
    jmethodID ctor = (*env)->GetMethodID(env, cls, "<init>", "(ILjava/lang/String;)V");
    jstring jmsg = (*env)->NewStringUTF(env, msg && *msg ? msg : gs_strerror(code));
    if (ctor && jmsg) {
        jobject ex = (*env)->NewObject(env, cls, ctor, (jint)code, jmsg);
        if (ex)
            (*env)->Throw(env, (jthrowable)ex);
    }
}

static void throw_db(JNIEnv *env, gs_db *db, int rc)
{
    throw_gs(env, rc, db ? gs_db_errmsg(db) : gs_strerror(rc));
}

/* A Java string as modified UTF-8 from the JVM: for our text (no NUL, BMP and
 * supplementary characters of Chinese names) we need standard UTF-8, so convert through
 * getBytes("UTF-8") semantics by hand: GetStringUTFChars would mangle 4-byte characters. */
static char *utf8_of(JNIEnv *env, jstring s)
{
    if (!s)
        return NULL;
    jsize n = (*env)->GetStringLength(env, s);
    const jchar *u = (*env)->GetStringChars(env, s, NULL);
    if (!u)
        return NULL;
    char *out = malloc((size_t)n * 3 + 1), *p = out;
    if (out) {
        for (jsize i = 0; i < n; i++) {
            uint32_t c = u[i];
            if (c >= 0xD800 && c < 0xDC00 && i + 1 < n && u[i + 1] >= 0xDC00 && u[i + 1] < 0xE000)
                c = 0x10000 + ((c - 0xD800) << 10) + (u[++i] - 0xDC00);
            if (c < 0x80) {
                *p++ = (char)c;
            } else if (c < 0x800) {
                *p++ = (char)(0xC0 | (c >> 6));
                *p++ = (char)(0x80 | (c & 0x3F));
            } else if (c < 0x10000) {
                *p++ = (char)(0xE0 | (c >> 12));
                *p++ = (char)(0x80 | ((c >> 6) & 0x3F));
                *p++ = (char)(0x80 | (c & 0x3F));
            } else {
                *p++ = (char)(0xF0 | (c >> 18));
                *p++ = (char)(0x80 | ((c >> 12) & 0x3F));
                *p++ = (char)(0x80 | ((c >> 6) & 0x3F));
                *p++ = (char)(0x80 | (c & 0x3F));
            }
        }
        *p = '\0';
    }
    (*env)->ReleaseStringChars(env, s, u);
    if (!out)
        throw_gs(env, GS_E_NOMEM, "out of memory");
    return out;
}

/* Standard UTF-8 (valid: the library checks every string it stores) to a Java string. */
static jstring jstr_of(JNIEnv *env, const char *s)
{
    size_t n = strlen(s), k = 0;
    jchar *u = malloc((n + 1) * sizeof *u);
    if (!u) {
        throw_gs(env, GS_E_NOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n;) {
        unsigned char b = (unsigned char)s[i];
        uint32_t c;
        int len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        if (i + (size_t)len > n)
            len = 1;
        c = len == 1 ? b : len == 2 ? b & 0x1F : len == 3 ? b & 0x0F : b & 0x07;
        for (int j = 1; j < len; j++)
            c = (c << 6) | ((unsigned char)s[i + (size_t)j] & 0x3F);
        i += (size_t)len;
        if (c >= 0x10000) {
            c -= 0x10000;
            u[k++] = (jchar)(0xD800 + (c >> 10));
            u[k++] = (jchar)(0xDC00 + (c & 0x3FF));
        } else {
            u[k++] = (jchar)c;
        }
    }
    jstring out = (*env)->NewString(env, u, (jsize)k);
    free(u);
    return out;
}

/* Sets keys[i] = values[i] as text on rec; GS_OK or a thrown exception's code. */
static int set_fields(JNIEnv *env, gs_db *db, gs_record *rec, jobjectArray keys,
                      jobjectArray values)
{
    jsize n = (*env)->GetArrayLength(env, keys);
    int rc = GS_OK;
    for (jsize i = 0; i < n && rc == GS_OK; i++) {
        jstring jk = (*env)->GetObjectArrayElement(env, keys, i);
        jstring jv = (*env)->GetObjectArrayElement(env, values, i);
        char *k = utf8_of(env, jk), *v = jv ? utf8_of(env, jv) : NULL;
        if (!k || (jv && !v)) {
            rc = GS_E_INVALID;
            throw_gs(env, rc, "a field name is null"); /* no-op after utf8_of's NOMEM */
        } else {
            rc = gs_record_set_text(rec, k, v ? v : "");
            if (rc)
                throw_db(env, db, rc);
        }
        free(k);
        free(v);
        (*env)->DeleteLocalRef(env, jk);
        if (jv)
            (*env)->DeleteLocalRef(env, jv);
    }
    return rc;
}

/* A gs_record as an org.gridsync.Record; NULL with an exception thrown. */
static jobject record_of(JNIEnv *env, gs_db *db, gs_record *rec)
{
    char *json = NULL;
    json_t *root = NULL;
    jobject out = NULL;
    jobjectArray ks = NULL, vs = NULL;
    int rc = gs_record_to_json(rec, &json);
    if (rc) {
        throw_db(env, db, rc);
        return NULL;
    }
    root = json_loads(json, 0, NULL);
    gs_free(json);
    if (!root) {
        throw_gs(env, GS_E_NOMEM, "out of memory");
        return NULL;
    }
    jclass scls = (*env)->FindClass(env, "java/lang/String");
    jclass rcls = (*env)->FindClass(env, "org/gridsync/Record");
    if (!scls || !rcls)
        goto out;
    jmethodID ctor = (*env)->GetMethodID(env, rcls, "<init>",
        "(Ljava/lang/String;Ljava/lang/String;[Ljava/lang/String;[Ljava/lang/String;)V");
    if (!ctor)
        goto out;
    /* every field with a value: the JSON's members but the record's own metadata */
    static const char *const meta[] = {"type", "id", "created", "updated", "deleted"};
    jsize n = 0;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        int is_meta = 0;
        for (size_t m = 0; m < sizeof meta / sizeof *meta; m++)
            is_meta |= !strcmp(key, meta[m]);
        if (!is_meta && gs_record_text(rec, key))
            n++;
    }
    ks = (*env)->NewObjectArray(env, n, scls, NULL);
    vs = (*env)->NewObjectArray(env, n, scls, NULL);
    if (!ks || !vs)
        goto out;
    jsize i = 0;
    json_object_foreach(root, key, val) {
        int is_meta = 0;
        for (size_t m = 0; m < sizeof meta / sizeof *meta; m++)
            is_meta |= !strcmp(key, meta[m]);
        const char *text = is_meta ? NULL : gs_record_text(rec, key);
        if (!text || i >= n)
            continue;
        jstring jk = jstr_of(env, key), jv = jk ? jstr_of(env, text) : NULL;
        if (!jk || !jv)
            goto out;
        (*env)->SetObjectArrayElement(env, ks, i, jk);
        (*env)->SetObjectArrayElement(env, vs, i, jv);
        (*env)->DeleteLocalRef(env, jk);
        (*env)->DeleteLocalRef(env, jv);
        i++;
    }
    jstring jt = jstr_of(env, gs_record_table(rec));
    jstring jid = jt ? jstr_of(env, gs_record_id(rec)) : NULL;
    if (jt && jid)
        out = (*env)->NewObject(env, rcls, ctor, jt, jid, ks, vs);
    if (jt)
        (*env)->DeleteLocalRef(env, jt);
    if (jid)
        (*env)->DeleteLocalRef(env, jid);
out:
    json_decref(root);
    if (ks)
        (*env)->DeleteLocalRef(env, ks);
    if (vs)
        (*env)->DeleteLocalRef(env, vs);
    if (scls)
        (*env)->DeleteLocalRef(env, scls);
    if (rcls)
        (*env)->DeleteLocalRef(env, rcls);
    return out;
}

static gs_db *db_of(jlong h) { return (gs_db *)(intptr_t)h; }

/* A Java byte[] key copied out (NULL, 0 for null); the copy is wiped by key_free. 0 with a
 * pending exception when it cannot be. */
static int key_of(JNIEnv *env, jbyteArray jkey, jbyte **key, jsize *len)
{
    *key = NULL;
    *len = 0;
    if (!jkey)
        return 1;
    *len = (*env)->GetArrayLength(env, jkey);
    if (*len <= 0 || *len > GS_DB_KEY_MAX) {
        throw_gs(env, GS_E_INVALID, "a database key is 1 to 1024 bytes");
        return 0;
    }
    *key = malloc((size_t)*len);
    if (!*key) {
        throw_gs(env, GS_E_NOMEM, "out of memory");
        return 0;
    }
    (*env)->GetByteArrayRegion(env, jkey, 0, *len, *key);
    return 1;
}

static void key_free(jbyte *key, jsize len)
{
    if (key) {
        explicit_bzero(key, (size_t)len);
        free(key);
    }
}

JNIEXPORT jlong JNICALL JNI_FN(nOpen)(JNIEnv *env, jclass cls, jstring jpath, jbyteArray jkey)
{
    (void)cls;
    char *path = utf8_of(env, jpath);
    gs_db *db = NULL;
    jbyte *key;
    jsize key_len;
    if (!path) {
        if (!jpath)
            throw_gs(env, GS_E_INVALID, "path is null");
        return 0;
    }
    if (!key_of(env, jkey, &key, &key_len)) {
        free(path);
        return 0;
    }
    int rc = gs_db_open_key(path, key, (size_t)key_len, &db);
    key_free(key, key_len);
    free(path);
    if (rc) {
        throw_db(env, db, rc);
        gs_db_close(db);
        return 0;
    }
    return (jlong)(intptr_t)db;
}

JNIEXPORT jboolean JNICALL JNI_FN(nCanEncrypt)(JNIEnv *env, jclass cls)
{
    (void)env, (void)cls;
    return gs_db_can_encrypt() ? JNI_TRUE : JNI_FALSE;
}

JNIEXPORT void JNICALL JNI_FN(nRekey)(JNIEnv *env, jclass cls, jlong h, jbyteArray jkey)
{
    (void)cls;
    gs_db *db = db_of(h);
    jbyte *key;
    jsize key_len;
    if (!jkey) {
        throw_gs(env, GS_E_INVALID, "the new key is null");
        return;
    }
    if (!key_of(env, jkey, &key, &key_len))
        return;
    int rc = gs_db_rekey(db, key, (size_t)key_len);
    key_free(key, key_len);
    if (rc)
        throw_db(env, db, rc);
}

JNIEXPORT void JNICALL JNI_FN(nClose)(JNIEnv *env, jclass cls, jlong h)
{
    (void)env, (void)cls;
    gs_db_close(db_of(h));
}

JNIEXPORT void JNICALL JNI_FN(nInit)(JNIEnv *env, jclass cls, jlong h, jstring jdev,
                                     jstring jtoken, jstring jurl, jstring jca,
                                     jobjectArray jgrids, jstring jworker)
{
    (void)cls;
    gs_db *db = db_of(h);
    jsize n = jgrids ? (*env)->GetArrayLength(env, jgrids) : 0;
    char *dev = utf8_of(env, jdev), *token = utf8_of(env, jtoken), *url = utf8_of(env, jurl);
    char *ca = utf8_of(env, jca), *worker = jworker ? utf8_of(env, jworker) : NULL;
    char **grids = calloc((size_t)n + 1, sizeof *grids);
    int ok = dev && token && url && ca && grids && (!jworker || worker);
    for (jsize i = 0; ok && i < n; i++) {
        jstring g = (*env)->GetObjectArrayElement(env, jgrids, i);
        grids[i] = utf8_of(env, g);
        ok = grids[i] != NULL;
        if (g)
            (*env)->DeleteLocalRef(env, g);
    }
    if (!ok) {
        throw_gs(env, GS_E_INVALID, "init: an argument is null");
    } else {
        gs_device_config cfg = {dev, token, url, ca, strlen(ca), (const char *const *)grids,
                                (size_t)n, worker};
        int rc = gs_db_init_device(db, &cfg);
        if (rc)
            throw_db(env, db, rc);
    }
    for (jsize i = 0; grids && i < n; i++)
        free(grids[i]);
    free(grids);
    free(dev), free(token), free(url), free(ca), free(worker);
}

JNIEXPORT jstring JNICALL JNI_FN(nAdd)(JNIEnv *env, jclass cls, jlong h, jstring jtable,
                                       jstring jid, jobjectArray keys, jobjectArray values)
{
    (void)cls;
    gs_db *db = db_of(h);
    gs_record *rec = NULL;
    jstring out = NULL;
    char *table = utf8_of(env, jtable), *id = jid ? utf8_of(env, jid) : NULL;
    int rc;
    if (!table || (jid && !id)) {
        throw_gs(env, GS_E_INVALID, "add: the record's table is null");
        goto out;
    }
    if ((rc = gs_record_new(db, table, &rec))) {
        throw_db(env, db, rc);
        goto out;
    }
    if (id && (rc = gs_record_set_id(rec, id))) {
        throw_db(env, db, rc);
        goto out;
    }
    if (set_fields(env, db, rec, keys, values))
        goto out;
    if ((rc = gs_db_add(db, rec))) {
        throw_db(env, db, rc);
        goto out;
    }
    out = jstr_of(env, gs_record_id(rec));
out:
    gs_record_free(rec);
    free(table);
    free(id);
    return out;
}

JNIEXPORT void JNICALL JNI_FN(nUpdate)(JNIEnv *env, jclass cls, jlong h, jstring jid,
                                       jobjectArray keys, jobjectArray values)
{
    (void)cls;
    gs_db *db = db_of(h);
    gs_record *rec = NULL;
    char *id = utf8_of(env, jid);
    int rc;
    if (!id) {
        throw_gs(env, GS_E_INVALID, "update: the record has no id (add it first)");
        return;
    }
    if ((rc = gs_db_get(db, id, &rec)))
        throw_db(env, db, rc);
    else if (!set_fields(env, db, rec, keys, values) && (rc = gs_db_update(db, rec)))
        throw_db(env, db, rc);
    gs_record_free(rec);
    free(id);
}

JNIEXPORT void JNICALL JNI_FN(nDelete)(JNIEnv *env, jclass cls, jlong h, jstring jid)
{
    (void)cls;
    gs_db *db = db_of(h);
    char *id = utf8_of(env, jid);
    int rc;
    if (!id) {
        throw_gs(env, GS_E_INVALID, "delete: id is null");
        return;
    }
    if ((rc = gs_db_delete(db, id)))
        throw_db(env, db, rc);
    free(id);
}

JNIEXPORT jobject JNICALL JNI_FN(nGet)(JNIEnv *env, jclass cls, jlong h, jstring jid)
{
    (void)cls;
    gs_db *db = db_of(h);
    gs_record *rec = NULL;
    jobject out = NULL;
    char *id = utf8_of(env, jid);
    int rc;
    if (!id) {
        throw_gs(env, GS_E_INVALID, "show: id is null");
        return NULL;
    }
    if ((rc = gs_db_get(db, id, &rec)))
        throw_db(env, db, rc);
    else
        out = record_of(env, db, rec);
    gs_record_free(rec);
    free(id);
    return out;
}

/* warnings < 0: the live records of table; 0 or 1: gs_db_warnings_list with that flag */
JNIEXPORT jobjectArray JNICALL JNI_FN(nList)(JNIEnv *env, jclass cls, jlong h, jstring jtable,
                                             jobjectArray keys, jobjectArray values,
                                             jlong limit, jint warnings)
{
    (void)cls;
    gs_db *db = db_of(h);
    gs_list *list = NULL;
    gs_record *rec = NULL;
    jobject *items = NULL;
    size_t n = 0, cap = 0;
    jobjectArray out = NULL;
    char *table = utf8_of(env, jtable);
    int rc;
    if (!table)
        return NULL;
    rc = warnings < 0 ? gs_list_new(db, table, &list)
                      : gs_db_warnings_list(db, warnings ? GS_WARNINGS_ALL : 0, &list);
    if (rc) {
        throw_db(env, db, rc);
        goto out;
    }
    jsize nk = (*env)->GetArrayLength(env, keys);
    for (jsize i = 0; i < nk; i++) {
        jstring jk = (*env)->GetObjectArrayElement(env, keys, i);
        jstring jv = (*env)->GetObjectArrayElement(env, values, i);
        char *k = utf8_of(env, jk), *v = utf8_of(env, jv);
        rc = k && v ? gs_list_where(list, k, v) : GS_E_INVALID;
        free(k), free(v);
        (*env)->DeleteLocalRef(env, jk);
        (*env)->DeleteLocalRef(env, jv);
        if (rc) {
            if (!k || !v)
                throw_gs(env, rc, "list: a condition's field or value is null");
            throw_db(env, db, rc);
            goto out;
        }
    }
    if (limit > 0 && (rc = gs_list_limit(list, limit))) {
        throw_db(env, db, rc);
        goto out;
    }
    /* collected as global references: a list longer than the local reference table is
     * fine */
    for (;;) {
        if ((rc = gs_list_next(list, &rec))) {
            throw_db(env, db, rc);
            goto out;
        }
        if (!rec)
            break;
        jobject r = record_of(env, db, rec);
        gs_record_free(rec);
        rec = NULL;
        if (!r)
            goto out;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            jobject *grown = realloc(items, ncap * sizeof *grown);
            if (!grown) {
                (*env)->DeleteLocalRef(env, r);
                throw_gs(env, GS_E_NOMEM, "out of memory");
                goto out;
            }
            items = grown, cap = ncap;
        }
        items[n] = (*env)->NewGlobalRef(env, r);
        (*env)->DeleteLocalRef(env, r);
        if (!items[n])
            goto out;
        n++;
    }
    jclass rcls = (*env)->FindClass(env, "org/gridsync/Record");
    if (!rcls)
        goto out;
    out = (*env)->NewObjectArray(env, (jsize)n, rcls, NULL);
    (*env)->DeleteLocalRef(env, rcls);
    for (size_t i = 0; out && i < n; i++)
        (*env)->SetObjectArrayElement(env, out, (jsize)i, items[i]);
out:
    for (size_t i = 0; i < n; i++)
        (*env)->DeleteGlobalRef(env, items[i]);
    free(items);
    gs_list_free(list);
    free(table);
    return out;
}

JNIEXPORT jobject JNICALL JNI_FN(nStatus)(JNIEnv *env, jclass cls, jlong h)
{
    (void)cls;
    gs_db *db = db_of(h);
    gs_status st;
    int64_t open = 0;
    int rc = gs_db_status(db, &st);
    if (!rc && st.initialised)
        rc = gs_db_warnings_open(db, &open);
    if (rc) {
        throw_db(env, db, rc);
        return NULL;
    }
    jclass scls = (*env)->FindClass(env, "org/gridsync/Status");
    if (!scls)
        return NULL;
    jmethodID ctor = (*env)->GetMethodID(env, scls, "<init>",
        "(ZLjava/lang/String;Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;"
        "Ljava/lang/String;JJJJJJ)V");
    jstring a = jstr_of(env, st.device_id), b = jstr_of(env, st.worker),
            c = jstr_of(env, st.grids), d = jstr_of(env, st.server_url),
            e = jstr_of(env, st.last_sync_result);
    jobject out = NULL;
    if (ctor && a && b && c && d && e)
        out = (*env)->NewObject(env, scls, ctor, (jboolean)(st.initialised != 0), a, b, c, d, e,
                                (jlong)st.pending, (jlong)st.pending_sent, (jlong)st.rejected,
                                (jlong)st.records, (jlong)st.last_sync_ms, (jlong)open);
    return out; /* a..e are freed with the native frame on return */
}

static jobject summary_of(JNIEnv *env, const gs_sync_summary *s)
{
    jclass cls = (*env)->FindClass(env, "org/gridsync/SyncResult");
    if (!cls)
        return NULL;
    jmethodID ctor = (*env)->GetMethodID(env, cls, "<init>", "(JJJJJJJJJJ)V");
    jobject out = ctor ? (*env)->NewObject(env, cls, ctor, (jlong)s->requests,
                                           (jlong)s->connects, (jlong)s->pushed,
                                           (jlong)s->accepted, (jlong)s->rejected,
                                           (jlong)s->pulled, (jlong)s->kept_local,
                                           (jlong)s->lost, (jlong)s->bytes_up,
                                           (jlong)s->bytes_down)
                       : NULL;
    (*env)->DeleteLocalRef(env, cls);
    return out;
}

struct progress_ctx {
    JNIEnv *env;       /* the calling thread's: the callback runs on it */
    jobject listener;  /* the ProgressListener, a local ref of nSync's frame */
    jmethodID on;      /* its onProgress */
    int failed;        /* the listener threw: no more calls, rethrown after the sync */
};

static void on_progress(void *ud, const gs_sync_summary *so_far)
{
    struct progress_ctx *p = ud;
    JNIEnv *env = p->env;
    if (p->failed || (*env)->PushLocalFrame(env, 4) != 0) {
        p->failed = 1;
        return;
    }
    jobject s = summary_of(env, so_far);
    if (s)
        (*env)->CallVoidMethod(env, p->listener, p->on, s);
    if ((*env)->ExceptionCheck(env))
        p->failed = 1; /* the sync cannot be stopped from here; it finishes, nothing lost */
    (*env)->PopLocalFrame(env, NULL);
}

JNIEXPORT jobject JNICALL JNI_FN(nSync)(JNIEnv *env, jclass cls, jlong h, jobject listener)
{
    (void)cls;
    gs_db *db = db_of(h);
    gs_sync_opts opts = {0};
    gs_sync_summary sum;
    struct progress_ctx p = {env, listener, NULL, 0};
    if (listener) {
        jclass lcls = (*env)->GetObjectClass(env, listener);
        p.on = (*env)->GetMethodID(env, lcls, "onProgress", "(Lorg/gridsync/SyncResult;)V");
        (*env)->DeleteLocalRef(env, lcls);
        if (!p.on)
            return NULL;
        opts.progress = on_progress;
        opts.progress_ud = &p;
    }
    int rc = gs_sync_run(db, &opts, &sum);
    if ((*env)->ExceptionCheck(env))
        return NULL; /* the listener's exception goes up as it is */
    if (rc) {
        throw_db(env, db, rc);
        return NULL;
    }
    return summary_of(env, &sum);
}

/* ---- attachments (issue 19) ---- */

JNIEXPORT jstring JNICALL JNI_FN(nAttach)(JNIEnv *env, jclass cls, jlong h, jstring jrid,
                                          jbyteArray jdata, jstring jcaption)
{
    (void)cls;
    gs_db *db = db_of(h);
    char id[GS_ID_TEXT_LEN + 1];
    jstring out = NULL;
    char *rid = utf8_of(env, jrid), *caption = jcaption ? utf8_of(env, jcaption) : NULL;
    if (!rid || !jdata || (jcaption && !caption)) {
        throw_gs(env, GS_E_INVALID, "attach: record id or data is null");
        goto out;
    }
    jsize n = (*env)->GetArrayLength(env, jdata);
    jbyte *bytes = (*env)->GetByteArrayElements(env, jdata, NULL);
    if (!bytes)
        goto out;
    int rc = gs_db_attach(db, rid, bytes, (size_t)n, caption, NULL, id);
    (*env)->ReleaseByteArrayElements(env, jdata, bytes, JNI_ABORT);
    if (rc)
        throw_db(env, db, rc);
    else
        out = jstr_of(env, id);
out:
    free(rid);
    free(caption);
    return out;
}

struct att_ctx {
    JNIEnv *env;
    jclass cls;        /* org.gridsync.Attachment */
    jmethodID ctor;
    jobject *items;    /* global refs */
    size_t n, cap;
};

static int on_attachment(void *ud, const gs_attachment_info *a)
{
    struct att_ctx *c = ud;
    JNIEnv *env = c->env;
    if ((*env)->PushLocalFrame(env, 8) != 0)
        return GS_E_NOMEM;
    int rc = GS_E_NOMEM;
    jstring s1 = jstr_of(env, a->id), s2 = s1 ? jstr_of(env, a->record) : NULL,
            s3 = s2 ? jstr_of(env, a->mime) : NULL, s4 = s3 ? jstr_of(env, a->sha256) : NULL,
            s5 = s4 ? jstr_of(env, a->caption) : NULL;
    jobject o = s5 ? (*env)->NewObject(env, c->cls, c->ctor, s1, s2, s3, s4, s5,
                                       (jlong)a->bytes, (jlong)a->thumb_bytes, (jint)a->width,
                                       (jint)a->height, (jboolean)(a->have_full != 0),
                                       (jboolean)(a->have_thumb != 0))
                   : NULL;
    if (o && c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 8;
        jobject *grown = realloc(c->items, ncap * sizeof *grown);
        if (grown)
            c->items = grown, c->cap = ncap;
    }
    if (o && c->n < c->cap && (c->items[c->n] = (*env)->NewGlobalRef(env, o))) {
        c->n++;
        rc = GS_OK;
    }
    (*env)->PopLocalFrame(env, NULL);
    return rc;
}

JNIEXPORT jobjectArray JNICALL JNI_FN(nAttachments)(JNIEnv *env, jclass cls, jlong h,
                                                    jstring jrid)
{
    (void)cls;
    gs_db *db = db_of(h);
    jobjectArray out = NULL;
    struct att_ctx c = {env, NULL, NULL, NULL, 0, 0};
    char *rid = utf8_of(env, jrid);
    if (!rid) {
        throw_gs(env, GS_E_INVALID, "attachments: record id is null");
        return NULL;
    }
    c.cls = (*env)->FindClass(env, "org/gridsync/Attachment");
    if (c.cls)
        c.ctor = (*env)->GetMethodID(env, c.cls, "<init>",
            "(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;"
            "Ljava/lang/String;JJIIZZ)V");
    if (c.ctor) {
        int rc = gs_db_attachments(db, rid, on_attachment, &c);
        if (rc)
            throw_gs(env, rc, rc == GS_E_NOMEM ? "out of memory" : gs_db_errmsg(db));
        else if ((out = (*env)->NewObjectArray(env, (jsize)c.n, c.cls, NULL)))
            for (size_t i = 0; i < c.n; i++)
                (*env)->SetObjectArrayElement(env, out, (jsize)i, c.items[i]);
    }
    for (size_t i = 0; i < c.n; i++)
        (*env)->DeleteGlobalRef(env, c.items[i]);
    free(c.items);
    if (c.cls)
        (*env)->DeleteLocalRef(env, c.cls);
    free(rid);
    return out;
}

JNIEXPORT jbyteArray JNICALL JNI_FN(nAttachmentBytes)(JNIEnv *env, jclass cls, jlong h,
                                                      jstring jaid, jint which)
{
    (void)cls;
    gs_db *db = db_of(h);
    void *data = NULL;
    size_t len = 0;
    jbyteArray out = NULL;
    char *aid = utf8_of(env, jaid);
    if (!aid) {
        throw_gs(env, GS_E_INVALID, "attachmentBytes: id is null");
        return NULL;
    }
    int rc = gs_db_attachment_get(db, aid, (int)which, &data, &len);
    if (rc) {
        throw_db(env, db, rc);
    } else if (len > 0x7fffffff) {
        throw_gs(env, GS_E_TOO_LARGE, "attachment larger than a Java array");
    } else if ((out = (*env)->NewByteArray(env, (jsize)len))) {
        (*env)->SetByteArrayRegion(env, out, 0, (jsize)len, data);
    }
    gs_free(data);
    free(aid);
    return out;
}
