/*
 * transport.c — the one way out of the chat layer: a reply, an edit or a
 * notice goes to Telegram (nx_tg_send / nx_tg_edit, queued and paced by
 * the client) or, for chat 0, to the console. A second transport (Discord)
 * plugs in here.
 */
#include "chat_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A reply being built: appended to, cut (never overrun) when full. */
void chat_put(text_t *t, const char *fmt, ...)
{
    if (t->len >= sizeof t->s - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(t->s + t->len, sizeof t->s - t->len, fmt, ap);
    va_end(ap);
    if (k > 0)
        t->len = t->len + (size_t)k < sizeof t->s ? t->len + (size_t)k : sizeof t->s - 1;
}

/* chat 0 is the console, where buttons become lines to type. */
void chat_say(nx_chat_t *b, int64_t chat, const char *html, const char *keyboard, uint64_t tag)
{
    if (chat == CHAT_WEB) { /* a web page's action: its answer, as text */
        if (b->web_out && b->web_len + 2 < b->web_cap) {
            if (b->web_len)
                b->web_out[b->web_len++] = '\n';
            chat_plain(html, b->web_out + b->web_len, b->web_cap - b->web_len);
            b->web_len += strlen(b->web_out + b->web_len);
        }
        return;
    }
    if (chat == 0) {
        chat_print_plain(html);
        if (keyboard) { /* buttons become lines to type */
            const char *p = keyboard;
            while ((p = strstr(p, "\"callback_data\":\""))) {
                p += 17;
                const char *q = strchr(p, '"');
                if (!q)
                    break;
                printf("  type !%.*s\n", (int)(q - p), p);
                p = q;
            }
            fflush(stdout);
        }
        return;
    }
    if (!b->tg)
        return;
    if (b->handling && chat == b->reply_chat)
        nx_tg_reply(b->tg, chat, html, keyboard, tag);
    else
        nx_tg_send(b->tg, chat, html, keyboard, tag);
}

void chat_edit(nx_chat_t *b, int64_t chat, int64_t msg, const char *html)
{
    if (chat == 0)
        chat_print_plain(html);
    else if (b->tg && msg)
        nx_tg_edit(b->tg, chat, msg, html, NULL);
}

void chat_reply(nx_chat_t *b, const caller_t *who, const char *fmt, ...)
{
    char out[CHAT_OUT];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, sizeof out, fmt, ap);
    va_end(ap);
    chat_say(b, who->chat, out, NULL, 0);
}

void nx_chat_tell_owner(nx_chat_t *b, const char *html)
{
    if (b->owner_chat)
        chat_say(b, b->owner_chat, html, NULL, 0);
    if (b->console)
        chat_say(b, 0, html, NULL, 0);
}
