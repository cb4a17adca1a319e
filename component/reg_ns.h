/*
 * reg_ns.h - the namespaces of XEP-0077 In-Band Registration: for reg's
 * files, which do not include reg.h (the dispatcher's header: reg.c stands
 * above them), and through reg.h for whoever routes to reg.
 */
#ifndef REGISTRAR_REG_NS_H
#define REGISTRAR_REG_NS_H

#define REG_NS "jabber:iq:register"
#define REG_NS_CANCEL "jabber:iq:register:cancel"
#define REG_NS_CHANGEPASSWORD "jabber:iq:register:changepassword"
#define REG_NS_OOB "jabber:x:oob"
/* XEP-0379/0445: <preauth xmlns=REG_NS_PARS token='...'/> */
#define REG_NS_PARS "urn:xmpp:pars:0"

#endif
