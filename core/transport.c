/* transport.c - the outbox's transports, in the order they are asked
 * whether the configuration wants them (transport.h). */
#include "config.h"

#include "transport.h"

static const struct ob_transport *const transports[] = {
	&ob_transport_smtp,    /* mail.smtp_host is set */
	&ob_transport_maildir, /* otherwise: .eml files in mail.outbox_dir */
};

const struct ob_transport *ob_transport_for(const struct ob_config *cfg)
{
	for (size_t i = 0; i < OB_ARRAY_LEN(transports); i++)
		if (transports[i]->wanted(cfg))
			return transports[i];
	return &ob_transport_maildir;
}
