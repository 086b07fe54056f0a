#ifndef OB_DEMO_H
#define OB_DEMO_H
#endif
