/* api.c: placeholder so gridsyncd links while the application is written (issue 4). */
#include "app.h"

#include "../common/alloc.h"

struct srv_app {
    int unused; /* placeholder */
};

int app_open(srv_app **out, const srv_config *cfg, srv_metrics *metrics, gs_logger *lg,
             gs_err *err)
{
    (void)cfg;
    (void)metrics;
    (void)lg;
    srv_app *app = gs_calloc(1, sizeof(*app));
    if (!app)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    *out = app;
    return GS_OK;
}

void app_close(srv_app *app)
{
    gs_free(app);
}

void app_handle(srv_app *app, const srv_request *req, srv_response *resp)
{
    (void)app;
    (void)req;
    resp->status = 501;
}

int app_init_store(const char *db_path, char *token_out, size_t token_cap, gs_err *err)
{
    (void)db_path;
    (void)token_out;
    (void)token_cap;
    return gs_err_set(err, GS_E_STATE, "not implemented yet");
}
